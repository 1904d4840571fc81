import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradient functions that plain Node can load; TPT differentiates the text tower.
import './gradients.js';
import { createImageTower } from './architectures.js';
import type { ImageEncoder } from './image-encoder.js';
import { takeParam } from './model-weights.js';
import type { ModelArch, ModelWeights } from './model-weights.js';
import { PromptEncoder } from './prompt-encoder.js';
import { PromptLearner } from './prompt-learner.js';
import type { PromptLearnerOptions, PromptTokenizer } from './prompt-learner.js';
import { TextTower } from './text-tower.js';

export interface ClipTestTimeOptions extends PromptLearnerOptions {
  /** Exact shortcuts in the text tower (end tokens, shared prefix); false runs the seed's full prompts. */
  shortcuts?: boolean;
  /** Views per image-tower pass (bounds memory). */
  imageChunkSize?: number;
}

/** Divides each row by its L2 norm. */
function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.sqrt(tf.sum(tf.square(x), -1, true)));
}

/**
 * The seed's ClipTestTimeTuning for a CLIP of any backbone: frozen image and text towers, a CoOp prompt learner whose
 * context is the only variable, and logits = exp(logit_scale) · image · textᵀ on L2-normalised features.
 */
export class ClipTestTimeModel {
  readonly arch: ModelArch;
  readonly imageTower: ImageEncoder;
  readonly textTower: TextTower;
  readonly promptLearner: PromptLearner;
  readonly shortcuts: boolean;
  /** exp(logit_scale), the temperature of the logits (100 for OpenAI's trained CLIP). */
  readonly logitScale: number;
  private readonly promptEncoder: PromptEncoder;
  private initialFeatures: tf.Tensor2D | undefined;

  constructor(weights: ModelWeights, tokenizer: PromptTokenizer, classnames: readonly string[], options: ClipTestTimeOptions = {}) {
    this.arch = weights.arch;
    this.shortcuts = options.shortcuts ?? true;
    const built: { dispose(): void }[] = [];
    try {
      this.logitScale = Math.exp(takeParam(weights.stateDict, 'logit_scale', []).data[0]!);
      this.imageTower = createImageTower(weights.stateDict, weights.arch, { chunkSize: options.imageChunkSize ?? 16 });
      built.push(this.imageTower);
      this.textTower = new TextTower(weights.stateDict, weights.arch);
      built.push(this.textTower);
      this.promptLearner = new PromptLearner(this.textTower, tokenizer, classnames, {
        ...options,
        coopCtx: options.coopCtx ?? weights.coopCtx,
      });
      built.push(this.promptLearner);
      this.promptEncoder = new PromptEncoder(this.textTower, this.promptLearner);
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
    return this.promptLearner.classnames;
  }

  /** The tuned prompt context (the model's only tf.Variable). */
  get ctx(): tf.Variable {
    return this.promptLearner.ctx;
  }

  /** views [N, S, S, 3] (normalised, NHWC) → L2-normalised image features [N, E]. Never differentiated. */
  encodeImages(views: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => l2Normalize(this.imageTower.encode(views)));
  }

  /** L2-normalised text features [C, E] at the current context; differentiable with respect to ctx. */
  textFeatures(shortcuts: boolean = this.shortcuts): tf.Tensor2D {
    return tf.tidy(() => l2Normalize(this.promptEncoder.encode(shortcuts)));
  }

  /**
   * Text features at the initial context. They do not depend on the sample, so they are computed once and
   * cached; the returned tensor belongs to the model (do not dispose it).
   */
  initialTextFeatures(): tf.Tensor2D {
    if (!this.initialFeatures) {
      const current = this.ctx.clone();
      try {
        this.promptLearner.reset();
        this.initialFeatures = tf.keep(this.textFeatures());
      } finally {
        this.ctx.assign(current);
        current.dispose();
      }
    }
    return this.initialFeatures;
  }

  /** exp(logit_scale) · imageFeatures · textFeaturesᵀ: [N, E] × [C, E] → [N, C]. */
  logits(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D): tf.Tensor2D {
    // An explicit transpose: wasm's matMul with transposeB is many times slower than a plain one.
    return tf.tidy(() => tf.mul(tf.matMul(imageFeatures, tf.transpose(textFeatures)), this.logitScale)); // [N, E] × [E, C]
  }

  /** Restores the initial context (the seed's model.reset() before every sample). */
  resetContext(): void {
    this.promptLearner.reset();
  }

  dispose(): void {
    this.initialFeatures?.dispose();
    this.initialFeatures = undefined;
    this.promptEncoder.dispose();
    this.promptLearner.dispose();
    this.textTower.dispose();
    this.imageTower.dispose();
  }
}
