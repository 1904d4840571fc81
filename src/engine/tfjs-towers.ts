import * as tf from '@tensorflow/tfjs-core';
import { ClipTestTimeModel, DEFAULT_IMAGE_CHUNK, type TowerOptions } from '../model/clip.js';
import type { ModelWeights } from '../model/host-params.js';
import type { PromptSetup } from '../model/prompt-setup.js';
import type { TemplatePrompts } from '../model/template-prompts.js';
import type { ClipTowers, EngineInfo } from './towers.js';

/** Classes per text-gradient pass on tfjs: 200-class test sets take one pass; 1000 classes take four. */
const DEFAULT_GRADIENT_CHUNK = 256;

/** A host copy: a backend may hand out views of its own storage, which die with the tensor. */
function readHost(t: tf.Tensor): Float32Array {
  return new Float32Array(t.dataSync());
}

/**
 * The reference engine: CLIP's towers on TensorFlow.js (whichever tfjs backend is active), behind the
 * host-array boundary. Host arrays enter as tensors, results leave as host copies, and every tensor made for
 * one call is released before it returns (the towers' weights are the only tensors they keep).
 */
export class TfjsClipTowers implements ClipTowers {
  readonly embedDim: number;
  readonly numClasses: number;
  readonly logitScale: number;
  readonly ctxShape: readonly number[];
  readonly initialCtx: Float32Array;
  readonly templatePrompts: TemplatePrompts | null;

  /** Classes per gradient pass; more classes are differentiated chunk by chunk (see textFeaturesWithGradient). */
  readonly gradientChunk: number;
  /** Views per image-tower pass (the model's own chunk size). */
  private readonly imageChunk: number;

  constructor(
    readonly model: ClipTestTimeModel,
    readonly info: EngineInfo,
    options: TowerOptions = {},
  ) {
    this.gradientChunk = Math.max(1, options.textGradientChunk ?? DEFAULT_GRADIENT_CHUNK);
    this.imageChunk = Math.max(1, options.imageChunkSize ?? DEFAULT_IMAGE_CHUNK);
    this.embedDim = model.arch.embedDim;
    this.numClasses = model.setup.numClasses;
    this.logitScale = model.logitScale;
    this.ctxShape = model.setup.ctxShape;
    this.initialCtx = model.setup.initialCtx;
    this.templatePrompts = model.setup.templatePrompts;
  }

  /** Builds the tfjs model over `setup` (tfjs's backend must be initialised already). */
  static create(weights: ModelWeights, setup: PromptSetup, info: EngineInfo, options: TowerOptions = {}): TfjsClipTowers {
    return new TfjsClipTowers(new ClipTestTimeModel(weights, undefined, setup.classnames, { ...options, setup }), info, options);
  }

  /**
   * Chunk by chunk (the image tower's own chunks), yielding to the event loop between them: a wasm pass over 64
   * ViT-B/16 views takes minutes of synchronous work, and timers (the run folder's lock heartbeat, the event
   * writer's flush) must still run. The rows do not depend on the chunking.
   */
  async encodeImages(views: Float32Array, count: number, size: number): Promise<Float32Array> {
    const perView = size * size * 3;
    const features = new Float32Array(count * this.embedDim);
    for (let start = 0; start < count; start += this.imageChunk) {
      const n = Math.min(this.imageChunk, count - start);
      const chunk = views.subarray(start * perView, (start + n) * perView);
      features.set(tf.tidy(() => readHost(this.model.encodeImages(tf.tensor4d(chunk, [n, size, size, 3])))), start * this.embedDim);
      if (start + n < count) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return features;
  }

  async encodeTokenPrompts(tokens: readonly Int32Array[]): Promise<Float32Array> {
    return tf.tidy(() => readHost(this.model.tokenPromptFeatures(tokens)));
  }

  async textFeatures(ctx: Float32Array): Promise<Float32Array> {
    return tf.tidy(() => readHost(this.model.textFeatures(this.contextTensor(ctx))));
  }

  /**
   * One forward pass under a gradient tape: the features are read to the host, `upstream` turns them into
   * dL/dfeatures D, and the traced function returns Σ features ⊙ D. Its gradient with respect to the
   * features is D exactly (Sum's gradient is ones, Mul's is 1·D), so the backward pass through the text
   * tower receives the same values as when the loss was differentiated through the towers in one graph.
   */
  async textFeaturesWithGradient(
    ctx: Float32Array,
    upstream: (features: Float32Array) => Float32Array,
  ): Promise<{ features: Float32Array; ctxGradient: Float32Array }> {
    if (this.numClasses > this.gradientChunk && this.model.shortcuts) return this.chunkedGradient(ctx, upstream);
    let features: Float32Array | undefined;
    const ctxGradient = tf.tidy(() => {
      const gradient = tf.grad((c: tf.Tensor) => {
        const text = this.model.textFeatures(c);
        features = readHost(text);
        const dFeatures = upstream(features);
        return tf.sum(tf.mul(text, tf.tensor2d(dFeatures, text.shape))) as tf.Scalar;
      })(this.contextTensor(ctx));
      return readHost(gradient);
    });
    return { features: features!, ctxGradient };
  }

  /**
   * The same vector–Jacobian product with the tape bounded by `gradientChunk` classes (1000-class test sets on
   * wasm): one forward pass of every class without a tape gives the features and dL/dfeatures D; then, chunk
   * by chunk, the gradient of Σ features_chunk ⊙ D_chunk, summed. Exact: L2 normalisation is per row, and the
   * total is the sum of the chunks' terms (the shared prefix's gradient included, as each chunk reruns it).
   */
  private async chunkedGradient(
    ctx: Float32Array,
    upstream: (features: Float32Array) => Float32Array,
  ): Promise<{ features: Float32Array; ctxGradient: Float32Array }> {
    const features = await this.textFeatures(ctx);
    const dFeatures = upstream(features);
    const e = this.embedDim;
    const ctxGradient = new Float32Array(ctx.length);
    for (const chunk of this.model.classChunks(this.gradientChunk)) {
      const rows = new Float32Array(chunk.classes.length * e); // D's rows of the chunk's classes, in its order
      chunk.classes.forEach((c, i) => rows.set(dFeatures.subarray(c * e, (c + 1) * e), i * e));
      const part = tf.tidy(() => {
        const gradient = tf.grad((c: tf.Tensor) => {
          const text = this.model.chunkTextFeatures(c, chunk);
          return tf.sum(tf.mul(text, tf.tensor2d(rows, text.shape))) as tf.Scalar;
        })(this.contextTensor(ctx));
        return readHost(gradient);
      });
      for (let i = 0; i < ctxGradient.length; i++) ctxGradient[i]! += part[i]!;
    }
    return { features, ctxGradient };
  }

  private contextTensor(ctx: Float32Array): tf.Tensor {
    const expected = this.initialCtx.length;
    if (ctx.length !== expected) throw new Error(`context of ${ctx.length} values, the towers take [${this.ctxShape.join(', ')}]`);
    return tf.tensor(ctx, [...this.ctxShape]);
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
