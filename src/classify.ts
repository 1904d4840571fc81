import * as tf from '@tensorflow/tfjs-core';
import { clipPreprocess } from './data/augmenters.js';
import { decodeImage } from './data/image.js';
import { TptError } from './errors.js';
import { ClipTestTimeModel } from './model/clip.js';
import { IMAGENET_A_CLASSNAMES } from './data/datasets/imagenet-a.js';
import type { ModelWeights } from './model/model-weights.js';
import type { PromptTokenizer } from './model/prompt-learner.js';
import { loadTokenizer } from './model/tokenizer.js';
import { loadClipWeights } from './weights/load.js';

/** The zero-shot prompt when no CoOp context is given (the CLIP paper's and TPT's hand-made prompt). */
export const DEFAULT_CTX_INIT = 'a photo of a';

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
  /** Classes to score; the 200 ImageNet-A classes by default. */
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
  readonly model: ClipTestTimeModel;
  private readonly topk: number;

  constructor(weights: ModelWeights, tokenizer: PromptTokenizer, options: ZeroShotOptions = {}) {
    const classnames = options.classnames ?? IMAGENET_A_CLASSNAMES;
    this.topk = Math.min(Math.max(1, Math.floor(options.topk ?? 5)), classnames.length);
    const coop = weights.coopCtx;
    this.model = new ClipTestTimeModel(weights, tokenizer, classnames, coop
      ? // CoOp's context fixes the prompt: n_ctx from its shape, "X X … X" placeholders, class-specific if 3-D.
        { coopCtx: coop, nCtx: coop.shape[coop.shape.length - 2]!, ctxInit: '', csc: coop.shape.length === 3 }
      : { ctxInit: options.ctxInit ?? DEFAULT_CTX_INIT });
  }

  get inputResolution(): number {
    return this.model.arch.imageResolution;
  }

  /** Scores one preprocessed view [S, S, 3] (normalised NHWC). */
  scoreView(file: string, view: Float32Array): ClassifyResult {
    const s = this.inputResolution;
    const logits = tf.tidy(() => {
      const features = this.model.encodeImages(tf.tensor4d(view, [1, s, s, 3]));
      return this.model.logits(features, this.model.initialTextFeatures()).dataSync() as Float32Array;
    });
    const probs = softmax(logits);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || a - b);
    const top = order.slice(0, this.topk).map((index) => ({ index, name: this.model.classnames[index]!, prob: probs[index]! }));
    return { file, logits: Array.from(logits), top };
  }

  /** Decodes, preprocesses (CLIP's view 0: bicubic resize of the shorter side, centre crop, normalise) and scores. */
  async classifyFile(file: string): Promise<ClassifyResult> {
    const image = await decodeImage(file);
    return this.scoreView(file, clipPreprocess(image, this.inputResolution));
  }

  async classifyFiles(files: readonly string[]): Promise<ClassifyResult[]> {
    const results: ClassifyResult[] = [];
    for (const file of files) results.push(await this.classifyFile(file));
    return results;
  }

  dispose(): void {
    this.model.dispose();
  }
}

export interface ClassifyOptions {
  /** A folder written by `tpt convert`, or a raw PyTorch CLIP checkpoint. */
  weights: string;
  coop?: string | undefined;
  bpe?: string | undefined;
  topk?: number | undefined;
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
  const classifier = new ZeroShotClassifier(weights, tokenizer, { topk: options.topk ?? 5 });
  try {
    return await classifier.classifyFiles(files);
  } finally {
    classifier.dispose();
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
