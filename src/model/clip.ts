import * as tf from '@tensorflow/tfjs-core';
import { createImageTower } from './architectures.js';
import type { ImageEncoder } from './image-encoder.js';
import { clipLogits } from './logits.js';
import { takeParam } from './host-params.js';
import type { ModelArch, ModelWeights } from './host-params.js';
import { PromptEncoder, type ClassChunk } from './prompt-encoder.js';
import { createPromptSetup, type PromptSetup, type PromptSetupOptions, type PromptTokenizer } from './prompt-setup.js';
import { TextTower } from './text-tower.js';

/** Views per image-tower pass on tfjs (bounds the activations' memory). */
export const DEFAULT_IMAGE_CHUNK = 16;

/** What the tfjs towers need besides the weights and the prompt setup. */
export interface TowerOptions {
  /** Exact shortcuts in the text tower (end tokens, shared prefix); false runs the seed's full prompts. */
  shortcuts?: boolean;
  /** Views per image-tower pass (bounds memory). */
  imageChunkSize?: number;
  /**
   * Classes per gradient pass (bounds the text tower's gradient tape on tfjs). With more classes, the tuning
   * step's text gradient is taken chunk by chunk after one forward pass of all classes. Default 256.
   */
  textGradientChunk?: number;
}

export interface ClipTestTimeOptions extends PromptSetupOptions, TowerOptions {
  /** A prompt setup built already (then the prompt options above are not used). */
  setup?: PromptSetup;
}

/** Divides each row by its L2 norm. */
function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.sqrt(tf.sum(tf.square(x), -1, true)));
}

/**
 * The seed's ClipTestTimeTuning for a CLIP of any backbone on tfjs: frozen image and text towers over a host
 * prompt setup, and logits = exp(logit_scale) · image · textᵀ on L2-normalised features. It holds no context:
 * the context is an argument (a tensor of the setup's ctxShape), so gradients are taken with respect to it
 * and the tuned values live on the host (see src/engine/tfjs-towers.ts).
 */
export class ClipTestTimeModel {
  readonly arch: ModelArch;
  readonly imageTower: ImageEncoder;
  readonly textTower: TextTower;
  readonly setup: PromptSetup;
  readonly shortcuts: boolean;
  /** exp(logit_scale), the temperature of the logits (100 for OpenAI's trained CLIP). */
  readonly logitScale: number;
  private readonly promptEncoder: PromptEncoder;
  private initialFeatures: tf.Tensor2D | undefined;

  constructor(weights: ModelWeights, tokenizer: PromptTokenizer | undefined, classnames: readonly string[], options: ClipTestTimeOptions = {}) {
    this.arch = weights.arch;
    this.shortcuts = options.shortcuts ?? true;
    const built: { dispose(): void }[] = [];
    try {
      this.logitScale = Math.exp(takeParam(weights.stateDict, 'logit_scale', []).data[0]!);
      this.imageTower = createImageTower(weights.stateDict, weights.arch, { chunkSize: options.imageChunkSize ?? DEFAULT_IMAGE_CHUNK });
      built.push(this.imageTower);
      this.textTower = new TextTower(weights.stateDict, weights.arch);
      built.push(this.textTower);
      if (!options.setup && !tokenizer) throw new Error('ClipTestTimeModel needs a tokenizer or a prompt setup');
      this.setup = options.setup ?? createPromptSetup(weights, tokenizer!, classnames, options);
      this.promptEncoder = new PromptEncoder(this.textTower, this.setup);
    } catch (e) {
      for (const part of built) part.dispose();
      throw e;
    }
  }

  /** How many leading prompt rows all classes share, computed once per pass when shortcuts are on. */
  get sharedPrefixLength(): number {
    return this.promptEncoder.prefixLength;
  }

  get classnames(): readonly string[] {
    return this.setup.classnames;
  }

  /** A new tensor holding the initial context (the caller owns it). */
  initialContext(): tf.Tensor {
    return tf.tensor(this.setup.initialCtx, [...this.setup.ctxShape]);
  }

  /** views [N, S, S, 3] (normalised, NHWC) → L2-normalised image features [N, E]. Never differentiated. */
  encodeImages(views: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => l2Normalize(this.imageTower.encode(views)));
  }

  /** L2-normalised text features [C, E] at the context `ctx`; differentiable with respect to it. */
  textFeatures(ctx: tf.Tensor, shortcuts: boolean = this.shortcuts): tf.Tensor2D {
    return tf.tidy(() => l2Normalize(this.promptEncoder.encode(ctx, shortcuts)));
  }

  /** L2-normalised features [n, E] of plain tokenised prompts (no context; see TextTower.encodeTokens). */
  tokenPromptFeatures(tokens: readonly Int32Array[]): tf.Tensor2D {
    return tf.tidy(() => l2Normalize(this.textTower.encodeTokens(tokens, this.shortcuts)));
  }

  /** See PromptEncoder.classChunks (the shortcut path). */
  classChunks(maxClasses: number): ClassChunk[] {
    return this.promptEncoder.classChunks(maxClasses);
  }

  /** L2-normalised text features [n, E] of one chunk's classes at `ctx`; differentiable with respect to it. */
  chunkTextFeatures(ctx: tf.Tensor, chunk: ClassChunk): tf.Tensor2D {
    return tf.tidy(() => l2Normalize(this.promptEncoder.encodeChunk(ctx, chunk)));
  }

  /**
   * Text features at the initial context. They do not depend on the sample, so they are computed once and
   * cached; the returned tensor belongs to the model (do not dispose it).
   */
  initialTextFeatures(): tf.Tensor2D {
    this.initialFeatures ??= tf.tidy(() => tf.keep(this.textFeatures(this.initialContext())));
    return this.initialFeatures;
  }

  /** exp(logit_scale) · imageFeatures · textFeaturesᵀ: [N, E] × [C, E] → [N, C]. */
  logits(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D): tf.Tensor2D {
    return clipLogits(imageFeatures, textFeatures, this.logitScale);
  }

  dispose(): void {
    this.initialFeatures?.dispose();
    this.initialFeatures = undefined;
    this.promptEncoder.dispose();
    this.textTower.dispose();
    this.imageTower.dispose();
  }
}
