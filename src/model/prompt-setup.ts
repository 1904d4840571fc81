import { Rng } from '../data/rng.js';
import type { TemplateSet } from '../data/templates/template-sets.js';
import { TptError } from '../errors.js';
import type { HostTensor } from '../weights/host-tensor.js';
import { takeParam, type ModelWeights } from './host-params.js';
import { TemplatePrompts } from './template-prompts.js';
import { ctxSlot, eotPosition, planPrompts, type PromptPlan, type PromptSlots } from './prompt-plan.js';

export { ctxSlot, slotCtxIndex, type PromptSlots } from './prompt-plan.js';

export const CLASS_TOKEN_POSITIONS = ['end', 'middle', 'front'] as const;
export type ClassTokenPosition = (typeof CLASS_TOKEN_POSITIONS)[number];

/** What the prompt learner needs from the CLIP tokenizer (`src/model/tokenizer.ts`). */
export interface PromptTokenizer {
  /** BPE ids of the text, without SOT/EOT. */
  encode(text: string): number[];
  /** SOT, ids, EOT, zero padded to contextLength. */
  tokenize(text: string, contextLength?: number): Int32Array;
}

export interface PromptSetupOptions {
  /** Context length in tokens when ctxInit is empty (the seed's n_ctx, default 4). */
  nCtx?: number;
  /** Words to start the context from ("a_photo_of_a"); empty means random N(0, 0.02²) vectors. */
  ctxInit?: string;
  classTokenPosition?: ClassTokenPosition;
  /** Class-specific context: one [nCtx, W] context per class. */
  csc?: boolean;
  /** CoOp's learned ctx ([nCtx, W], or [nCls, nCtx, W] with csc); replaces the initial context. */
  coopCtx?: HostTensor | undefined;
  /** Seed of the random initial context (only used when neither ctxInit nor coopCtx is given). */
  seed?: number;
  /** A prompt-template set for the zero-shot ensemble classifier (config `templates`); null or absent: none. */
  templates?: TemplateSet | null;
}

/** The host rows of token_embedding [vocab, W] (prompts only ever need constant rows of it). */
export class TokenEmbedding {
  constructor(
    /** [vocab, W] */
    readonly table: Float32Array,
    readonly vocabSize: number,
    readonly width: number,
    readonly contextLength: number,
  ) {}

  static fromWeights(weights: ModelWeights): TokenEmbedding {
    const { vocabSize, transformerWidth, contextLength } = weights.arch;
    return new TokenEmbedding(takeParam(weights.stateDict, 'token_embedding.weight', [vocabSize, transformerWidth]).data, vocabSize, transformerWidth, contextLength);
  }

  /** Rows of token_embedding for the given ids, concatenated: [ids.length · W]. */
  embedTokens(ids: ArrayLike<number>): Float32Array {
    const w = this.width;
    const out = new Float32Array(ids.length * w);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < this.vocabSize)) throw new Error(`token id ${id} outside the vocabulary of ${this.vocabSize}`);
      out.set(this.table.subarray(id * w, (id + 1) * w), i * w);
    }
    return out;
  }
}

/** CoOp's nn.init.normal_(ctx_vectors, std=0.02), drawn from the project's seeded RNG so every engine starts alike. */
export function randomContext(length: number, seed: number): Float32Array {
  const rng = Rng.named(seed, 'prompt context');
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = 0.02 * rng.normal();
  return out;
}

/**
 * The host half of CoOp's PromptLearner as the seed uses it (no tensors; both engines build on it). A prompt
 * is [SOT] + context + "<class name>." + [EOT] + padding, with the context vectors (the only trainable thing
 * in TPT) spliced into the token embeddings:
 * 'end' = SOT ctx name . EOT; 'middle' = SOT ctx[:half] name ctx[half:] . EOT; 'front' = SOT name ctx . EOT.
 * `plan` holds the exact shortcuts (shared prefix, end tokens), derived once for every engine.
 */
export class PromptSetup {
  readonly classnames: readonly string[];
  readonly nCtx: number;
  readonly csc: boolean;
  readonly classTokenPosition: ClassTokenPosition;
  /** Where 'middle' splits the context: the "[CLS]" word's index in ctxInit, else nCtx/2 (floored). */
  readonly splitIndex: number;
  readonly promptPrefix: string;
  /** Each class's tokenized prompt text [contextLength] (the context words are placeholders). */
  readonly tokenizedPrompts: readonly Int32Array[];
  /** Each prompt's EOT position: the argmax of its token ids, exactly as the seed finds it. */
  readonly eotIndex: readonly number[];
  readonly nameLengths: readonly number[];
  /** Per class, the source of each of its contextLength embedding rows. */
  readonly slots: readonly PromptSlots[];
  /** The initial context (CoOp's, ctx_init's words, or random), ctxShape row-major. Never modified. */
  readonly initialCtx: Float32Array;
  /** [nCtx, W], or [nCls, nCtx, W] with csc. */
  readonly ctxShape: readonly number[];
  readonly width: number;
  readonly contextLength: number;
  /** The shortcuts' plan over `slots` and `eotIndex`. */
  readonly plan: PromptPlan;
  /** The template ensemble's prompts over the same classes (config `templates`), or null. */
  readonly templatePrompts: TemplatePrompts | null;

  constructor(embedding: TokenEmbedding, tokenizer: PromptTokenizer, classnames: readonly string[], options: PromptSetupOptions = {}) {
    const width = embedding.width;
    const contextLength = embedding.contextLength;
    const nCls = classnames.length;
    if (nCls === 0) throw new TptError('NO_CLASSES', 'the prompt learner needs at least one class name', { hint: 'Pass the class names to score.' });
    this.width = width;
    this.csc = options.csc ?? false;
    let position: ClassTokenPosition = options.classTokenPosition ?? 'end';
    let splitIndex: number | undefined;
    let nCtx = options.nCtx ?? 4;
    let initial: Float32Array;
    const ctxInit = options.ctxInit ?? '';

    if (ctxInit) {
      // The seed: underscores are spaces, n_ctx becomes the word count, and the context vectors are the token
      // embeddings at positions 1..n_ctx of the tokenized words (whatever BPE does to them).
      let text = ctxInit.replaceAll('_', ' ');
      if (text.includes('[CLS]')) {
        splitIndex = text.split(' ').indexOf('[CLS]');
        text = text.replaceAll('[CLS] ', '');
        position = 'middle';
      }
      nCtx = text.split(' ').length;
      const ids = tokenizer.tokenize(text, contextLength);
      const words = embedding.embedTokens(ids.subarray(1, 1 + nCtx));
      initial = this.csc ? repeat(words, nCls) : words;
      this.promptPrefix = text;
    } else {
      if (!Number.isInteger(nCtx) || nCtx < 1) {
        throw new TptError('CONFIG_INVALID', `n_ctx must be a positive integer, got ${nCtx}`, { hint: 'Set n_ctx to the CoOp context length (4 for the seed).' });
      }
      initial = randomContext((this.csc ? nCls : 1) * nCtx * width, options.seed ?? 0);
      this.promptPrefix = Array.from({ length: nCtx }, () => 'X').join(' ');
    }
    if (options.coopCtx) initial = coopContext(options.coopCtx, nCtx, width, this.csc, nCls);

    this.nCtx = nCtx;
    this.classTokenPosition = position;
    this.splitIndex = splitIndex ?? Math.floor(nCtx / 2);
    this.contextLength = contextLength;
    this.ctxShape = this.csc ? [nCls, nCtx, width] : [nCtx, width];
    this.initialCtx = initial;

    this.classnames = classnames.map((n) => n.replaceAll('_', ' '));
    this.nameLengths = this.classnames.map((n) => tokenizer.encode(n).length);
    this.tokenizedPrompts = this.classnames.map((n) => tokenizer.tokenize(`${this.promptPrefix} ${n}.`, contextLength));
    this.eotIndex = this.tokenizedPrompts.map(eotPosition);
    this.eotIndex.forEach((e, i) => {
      if (e < 1 + nCtx) throw new Error(`prompt ${i} ends before its context (EOT at ${e}, n_ctx ${nCtx})`);
    });
    this.slots = this.tokenizedPrompts.map((ids, i) => this.layoutSlots(ids, this.nameLengths[i]!));
    this.plan = planPrompts(this.slots, this.eotIndex, this.csc);
    this.templatePrompts = options.templates ? new TemplatePrompts(options.templates, classnames, tokenizer, contextLength) : null;
  }

  /** The seed's concatenation order for one class, as slot sources (see PromptSlots). */
  private layoutSlots(ids: Int32Array, nameLength: number): PromptSlots {
    const n = this.nCtx;
    const ctx = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => ctxSlot(from + k));
    const prefix = [ids[0]!];
    const suffix = Array.from(ids.subarray(1 + n));
    const name = suffix.slice(0, nameLength);
    const rest = suffix.slice(nameLength);
    switch (this.classTokenPosition) {
      case 'end':
        return Int32Array.from([...prefix, ...ctx(0, n), ...suffix]);
      case 'middle':
        return Int32Array.from([...prefix, ...ctx(0, this.splitIndex), ...name, ...ctx(this.splitIndex, n), ...rest]);
      case 'front':
        return Int32Array.from([...prefix, ...name, ...ctx(0, n), ...rest]);
    }
  }

  get numClasses(): number {
    return this.classnames.length;
  }
}

/** The host prompt setup over the checkpoint's token embedding; CoOp's context from the weights unless given. */
export function createPromptSetup(weights: ModelWeights, tokenizer: PromptTokenizer, classnames: readonly string[], options: PromptSetupOptions = {}): PromptSetup {
  return new PromptSetup(TokenEmbedding.fromWeights(weights), tokenizer, classnames, { ...options, coopCtx: options.coopCtx ?? weights.coopCtx });
}

function repeat(values: Float32Array, times: number): Float32Array {
  const out = new Float32Array(values.length * times);
  for (let i = 0; i < times; i++) out.set(values, i * values.length);
  return out;
}

/** Checks CoOp's ctx against the prompt learner; a shared [nCtx, W] ctx is copied to every class under csc (as torch's copy_ broadcasts). */
function coopContext(coop: HostTensor, nCtx: number, width: number, csc: boolean, nCls: number): Float32Array {
  const shape = coop.shape;
  const values = coop.data;
  if (!(values instanceof Float32Array)) {
    throw new TptError('COOP_DTYPE', `the CoOp ctx is ${coop.dtype}, expected floating point`, { hint: 'Pass the model.pth.tar-50 file written by CoOp.' });
  }
  const shared = shape.length === 2 && shape[0] === nCtx && shape[1] === width;
  const perClass = shape.length === 3 && shape[0] === nCls && shape[1] === nCtx && shape[2] === width;
  if (shared) return csc ? repeat(values, nCls) : values;
  if (perClass && csc) return values;
  const expected = csc ? `[${nCls}, ${nCtx}, ${width}] or [${nCtx}, ${width}]` : `[${nCtx}, ${width}]`;
  throw new TptError('COOP_SHAPE', `the CoOp ctx has shape [${shape.join(', ')}], but this prompt learner needs ${expected}`, {
    hint: perClass
      ? 'This CoOp file holds class-specific contexts: set csc to true.'
      : 'Set n_ctx (and ctx_init) to match the CoOp checkpoint (the seed uses n_ctx 4 with ctx_init ""), or use the CoOp file trained for this CLIP model.',
  });
}
