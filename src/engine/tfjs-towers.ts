import * as tf from '@tensorflow/tfjs-core';
import { ClipTestTimeModel, type TowerOptions } from '../model/clip.js';
import type { ModelWeights } from '../model/host-params.js';
import type { PromptSetup } from '../model/prompt-setup.js';
import type { ClipTowers, EngineInfo } from './towers.js';

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

  constructor(
    readonly model: ClipTestTimeModel,
    readonly info: EngineInfo,
  ) {
    this.embedDim = model.arch.embedDim;
    this.numClasses = model.setup.numClasses;
    this.logitScale = model.logitScale;
    this.ctxShape = model.setup.ctxShape;
    this.initialCtx = model.setup.initialCtx;
  }

  /** Builds the tfjs model over `setup` (tfjs's backend must be initialised already). */
  static create(weights: ModelWeights, setup: PromptSetup, info: EngineInfo, options: TowerOptions = {}): TfjsClipTowers {
    return new TfjsClipTowers(new ClipTestTimeModel(weights, undefined, setup.classnames, { ...options, setup }), info);
  }

  async encodeImages(views: Float32Array, count: number, size: number): Promise<Float32Array> {
    return tf.tidy(() => readHost(this.model.encodeImages(tf.tensor4d(views, [count, size, size, 3]))));
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

  private contextTensor(ctx: Float32Array): tf.Tensor {
    const expected = this.initialCtx.length;
    if (ctx.length !== expected) throw new Error(`context of ${ctx.length} values, the towers take [${this.ctxShape.join(', ')}]`);
    return tf.tensor(ctx, [...this.ctxShape]);
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
