import * as tf from '@tensorflow/tfjs-core';
import { zeroShotTextFeatures } from '../../engine/template-ensemble.js';
import type { ClipTowers } from '../../engine/towers.js';
import { clipLogits } from '../../model/logits.js';
import type { SampleViews, TuningOutcome } from '../engine.js';
import type { SampleTuner } from './types.js';

/**
 * The per-sample loop of the methods that need no gradient (Zero, MTA): the text features at the initial
 * prompt, or the config's template ensemble (`templates`), are encoded once per run, never with a backward;
 * a sample costs the image tower over its views plus host arithmetic on [V, E] features. Base logits are view
 * 0's zero-shot logits, as for TPT. The online methods (online.ts) share the same pass.
 */

/** A view's unit image features against the run's text features: what a feature-space method scores. */
export interface FeatureInputs {
  /** [V, E] L2-normalised image features, row-major (view 0 first). */
  image: Float32Array;
  views: number;
  /** [C, E] L2-normalised text features at the initial prompt, or the template ensemble's classifier. */
  text: Float32Array;
  classes: number;
  dim: number;
  /** exp(logit_scale). */
  logitScale: number;
}

/** The method's final class scores [C] from the sample's features. */
export type FeatureScorer = (inputs: FeatureInputs) => Float64Array | Float32Array;

/** [N, E] × [C, E]ᵀ rows, optionally scaled, in float64 on the host: [N, C]. */
export function hostLogits(image: ArrayLike<number>, rows: number, text: ArrayLike<number>, classes: number, dim: number, scale = 1): Float64Array {
  const out = new Float64Array(rows * classes);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < classes; c++) {
      let sum = 0;
      for (let e = 0; e < dim; e++) sum += image[i * dim + e]! * text[c * dim + e]!;
      out[i * classes + c] = sum * scale;
    }
  }
  return out;
}

/**
 * One sample of a feature-space method: the views' image features, the run's text features (encoded once per
 * tuner), the method's `step` over them, and view 0's zero-shot logits as every method's `base`.
 */
export class FeatureSamplePass {
  private text: Promise<Float32Array> | undefined;

  constructor(readonly towers: ClipTowers) {}

  textFeatures(): Promise<Float32Array> {
    this.text ??= zeroShotTextFeatures(this.towers);
    return this.text;
  }

  async run<T extends { scores: ArrayLike<number> }>(views: SampleViews, step: (inputs: FeatureInputs) => T): Promise<{ outcome: TuningOutcome; result: T }> {
    const { towers } = this;
    const t0 = performance.now();
    const image = await towers.encodeImages(views.data.subarray(0, views.count * views.size * views.size * 3), views.count, views.size);
    const text = await this.textFeatures();
    const { embedDim: dim, numClasses: classes, logitScale } = towers;
    const t1 = performance.now();
    const result = step({ image, views: views.count, text, classes, dim, logitScale });
    const t2 = performance.now();
    // As TestTimeTuner scores view 0, so that every method's runs record the same zero-shot `base`.
    const baseLogits = tf.tidy(() => new Float32Array(clipLogits(tf.tensor2d(image.subarray(0, dim), [1, dim]), tf.tensor2d(text, [classes, dim]), logitScale).dataSync()));
    const t3 = performance.now();
    const outcome: TuningOutcome = {
      baseLogits,
      tptLogits: Float32Array.from(result.scores),
      // No objective is minimised: the seed's initial 0.0 of a sample without a tuning step.
      loss: 0.0,
      seconds: { imageTower: (t1 - t0) / 1000, tuning: (t2 - t1) / 1000, evaluation: (t3 - t2) / 1000 },
    };
    return { outcome, result };
  }
}

export class FeatureTuner implements SampleTuner {
  private readonly pass: FeatureSamplePass;

  constructor(
    readonly towers: ClipTowers,
    private readonly score: FeatureScorer,
  ) {
    this.pass = new FeatureSamplePass(towers);
  }

  async prepare(): Promise<void> {
    await this.pass.textFeatures();
  }

  async tuneSample(views: SampleViews): Promise<TuningOutcome> {
    return (await this.pass.run(views, (inputs) => ({ scores: this.score(inputs) }))).outcome;
  }
}
