import * as tf from '@tensorflow/tfjs-core';
import { clipPreprocess } from './data/augmenters.js';
import { decodeImage } from './data/image.js';
import type { BackendChoice } from './engine/choices.js';
import { selectEngine, selectedEngineLabel, type SelectedEngine } from './engine/create-towers.js';
import type { ClipTowers } from './engine/towers.js';
import { isTptError, TptError } from './errors.js';
import { DEFAULT_DATASET, datasetClassnames, type DatasetName } from './data/datasets/registry.js';
import type { ModelWeights } from './model/host-params.js';
import { clipLogits } from './model/logits.js';
import { createPromptSetup, type PromptTokenizer } from './model/prompt-setup.js';
import { loadTokenizer } from './model/tokenizer.js';
import { loadClipWeights } from './weights/load.js';

/** The zero-shot prompt when no CoOp context is given (the CLIP paper's and TPT's hand-made prompt). */
export const DEFAULT_CTX_INIT = 'a photo of a';

/** What one unreadable image raises; anything else (weights, engine) still ends the batch. */
const IMAGE_FAILURES: ReadonlySet<string> = new Set(['IMAGE_DECODE', 'IMAGE_TOO_SMALL']);

export interface ClassPrediction {
  /** Label index in the seed's (sorted-wnid) order. */
  index: number;
  name: string;
  /** Softmax probability over the classes. */
  prob: number;
}

export interface ClassifyResult {
  /** The path exactly as given. */
  file: string;
  /** All class logits, exp(logit_scale)·cos, in label order. */
  logits: number[];
  top: ClassPrediction[];
}

export interface ZeroShotOptions {
  /** Classes to score; the default dataset's by default. */
  classnames?: readonly string[];
  /** Context words when the weights carry no CoOp ctx. */
  ctxInit?: string;
  topk?: number;
}

/** Softmax of one row, in float64 for stable probabilities. */
function softmax(logits: Float32Array): number[] {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/**
 * Zero-shot CLIP over a fixed class list: the prompt context is CoOp's when the weights carry one, otherwise
 * `ctxInit` ("a photo of a"); the text features are computed once and every image is scored against them.
 */
export class ZeroShotClassifier {
  private readonly topk: number;
  private textFeatures: Promise<Float32Array> | undefined;

  private constructor(
    readonly towers: ClipTowers,
    readonly classnames: readonly string[],
    readonly inputResolution: number,
    topk: number | undefined,
  ) {
    this.topk = Math.min(Math.max(1, Math.floor(topk ?? 5)), classnames.length);
  }

  /** Builds the towers on `engine` (the one `backend: auto` selects when omitted). */
  static async create(weights: ModelWeights, tokenizer: PromptTokenizer, options: ZeroShotOptions & { engine?: SelectedEngine } = {}): Promise<ZeroShotClassifier> {
    const classnames = options.classnames ?? datasetClassnames(DEFAULT_DATASET);
    const coop = weights.coopCtx;
    const setup = createPromptSetup(weights, tokenizer, classnames, coop
      ? // CoOp's context fixes the prompt: n_ctx from its shape, "X X … X" placeholders, class-specific if 3-D.
        { coopCtx: coop, nCtx: coop.shape[coop.shape.length - 2]!, ctxInit: '', csc: coop.shape.length === 3 }
      : { ctxInit: options.ctxInit ?? DEFAULT_CTX_INIT });
    const engine = options.engine ?? (await selectEngine('auto'));
    const towers = await engine.create(weights, setup);
    return new ZeroShotClassifier(towers, setup.classnames, weights.arch.imageResolution, options.topk);
  }

  /** Scores one preprocessed view [S, S, 3] (normalised NHWC). */
  async scoreView(file: string, view: Float32Array): Promise<ClassifyResult> {
    const s = this.inputResolution;
    const { towers } = this;
    const image = await towers.encodeImages(view, 1, s);
    this.textFeatures ??= towers.textFeatures(towers.initialCtx); // once for every image
    const text = await this.textFeatures;
    const logits = tf.tidy(
      () => new Float32Array(clipLogits(tf.tensor2d(image, [1, towers.embedDim]), tf.tensor2d(text, [towers.numClasses, towers.embedDim]), towers.logitScale).dataSync()),
    );
    const probs = softmax(logits);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || a - b);
    const top = order.slice(0, this.topk).map((index) => ({ index, name: this.classnames[index]!, prob: probs[index]! }));
    return { file, logits: Array.from(logits), top };
  }

  /** Decodes, preprocesses (CLIP's view 0: bicubic resize of the shorter side, centre crop, normalise) and scores. */
  async classifyFile(file: string): Promise<ClassifyResult> {
    const image = await decodeImage(file);
    return await this.scoreView(file, clipPreprocess(image, this.inputResolution));
  }

  /**
   * Scores every file that decodes; a file that does not (IMAGE_DECODE, IMAGE_TOO_SMALL) goes to `onFailure`
   * and the batch goes on, so one bad image costs neither the others' scores nor a rerun.
   */
  async classifyFiles(files: readonly string[], onFailure?: (file: string, error: TptError) => void): Promise<ClassifyResult[]> {
    const results: ClassifyResult[] = [];
    for (const file of files) {
      try {
        results.push(await this.classifyFile(file));
      } catch (e) {
        if (onFailure === undefined || !isTptError(e) || !IMAGE_FAILURES.has(e.code)) throw e;
        onFailure(file, e);
      }
    }
    return results;
  }

  dispose(): Promise<void> {
    return this.towers.dispose();
  }
}

export interface ClassifyOptions {
  /** A folder written by `tpt convert`, or a raw PyTorch CLIP checkpoint. */
  weights: string;
  coop?: string | undefined;
  bpe?: string | undefined;
  topk?: number | undefined;
  /** The engine (`backend` choice); auto by default. */
  backend?: BackendChoice | undefined;
  /** Whose classes to score (the dataset registry's class list); the default dataset's by default. */
  dataset?: DatasetName | undefined;
  /** Told which engine runs, once it is selected (the CLI prints it on stderr). */
  onEngine?: (label: string) => void;
  /** Told of each image that cannot be read, which is then left out; without it the first one throws. */
  onFailure?: (file: string, error: TptError) => void;
}

/** `tpt classify` as a library call: loads weights (+ CoOp ctx) and vocabulary, scores every image. */
export async function classifyImages(files: readonly string[], options: ClassifyOptions): Promise<ClassifyResult[]> {
  if (files.length === 0) {
    throw new TptError('NO_IMAGES', 'no images to classify', { hint: 'Pass one or more image files: `tpt classify photo.jpg --weights weights/rn50`.' });
  }
  const weights = await loadClipWeights(options.weights, {
    ...(options.coop !== undefined ? { coop: options.coop } : {}),
    ...(options.bpe !== undefined ? { bpe: options.bpe } : {}),
  });
  const tokenizer = await loadTokenizer(options.bpe ?? weights.bpePath);
  const engine = await selectEngine(options.backend ?? 'auto');
  options.onEngine?.(selectedEngineLabel(engine));
  const classifier = await ZeroShotClassifier.create(weights, tokenizer, {
    topk: options.topk ?? 5,
    engine,
    classnames: datasetClassnames(options.dataset ?? DEFAULT_DATASET),
  });
  try {
    return await classifier.classifyFiles(files, options.onFailure);
  } finally {
    await classifier.dispose();
  }
}

/** Human-readable output: per image, its top classes with probability and logit. */
export function formatClassifyTable(results: readonly ClassifyResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(r.file);
    const nameWidth = Math.max(5, ...r.top.map((p) => p.name.length));
    lines.push(`  ${'rank'.padEnd(4)}  ${'class'.padEnd(nameWidth)}  ${'label'.padStart(5)}  ${'prob'.padStart(7)}  ${'logit'.padStart(7)}`);
    r.top.forEach((p, rank) => {
      lines.push(
        `  ${String(rank + 1).padEnd(4)}  ${p.name.padEnd(nameWidth)}  ${String(p.index).padStart(5)}  ${(100 * p.prob).toFixed(2).padStart(6)}%  ${r.logits[p.index]!.toFixed(3).padStart(7)}`,
      );
    });
    lines.push('');
  }
  return lines.join('\n');
}
