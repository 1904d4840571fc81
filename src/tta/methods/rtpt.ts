/**
 * R-TPT (Sheng et al., CVPR 2025), transcribed from TomSheng21/R-TPT@e085f134eb299083ccc97327b316272fc40393b8, rtpt.py:
 * - test_time_tuning: on the first step the int(V·selection_p) views of lowest entropy are selected
 *   (select_confident_samples) and kept for later steps; the loss is entropy_avg, the MEAN of the selected
 *   views' own entropies (not the entropy of their mean prediction); AdamW(lr) with torch's defaults;
 * - test_time_adapt_eval: after tuning, the logits of ALL views at the tuned prompt are combined with weights
 *   w = softmax(score / 0.01), score_i = get_top_sim(S)_i = the mean of the 20 largest entries of row i of
 *   S = F·Fᵀ (the views' unit image features) after entries ≥ 1.0 are set to −inf (the self-similarities);
 *   output = Σ_i w_i · logits_i. The base scores are view 0 at the initial prompt (clip_output).
 * The self-similarity mask: the code relies on F·Fᵀ's diagonal reaching 1.0, which its fp16 GPU features do;
 * in float32 a unit vector's self-similarity can round to just below 1, so the diagonal is masked explicitly
 * as well (entries ≥ 1.0 off the diagonal are masked as in the code). Clean accuracy only: the PGD attack
 * (--eps > 0) is not part of this method.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TptConfig } from '../../config/schema.js';
import type { ClipTowers } from '../../engine/towers.js';
import { confidentIndices, logSoftmax, rowSelector } from '../../losses/selection.js';
import { clipLogits } from '../../model/logits.js';
import { AdamW } from '../adamw.js';
import { SEED_ADAMW, type SampleViews, type TuningOutcome } from '../engine.js';
import { hyperparameterValue, METHOD_SPECS } from './names.js';
import type { EpisodicMethod, SampleTuner } from './types.js';

/** Each view's ensemble weight: softmax over views of (mean of its topK most similar other views) / temperature. */
export function reliabilityWeights(image: Float32Array, views: number, dim: number, topK: number, temperature: number): Float64Array {
  const scores = new Float64Array(views);
  const row = new Float64Array(views);
  for (let i = 0; i < views; i++) {
    for (let j = 0; j < views; j++) {
      let sum = 0;
      for (let e = 0; e < dim; e++) sum += image[i * dim + e]! * image[j * dim + e]!;
      row[j] = i === j || sum >= 1.0 ? -Infinity : sum;
    }
    const sorted = Array.from(row).sort((a, b) => b - a);
    let total = 0;
    for (let r = 0; r < topK; r++) total += sorted[r]!;
    scores[i] = total / topK;
  }
  const max = Math.max(...scores);
  const weights = new Float64Array(views);
  let sum = 0;
  for (let i = 0; i < views; i++) sum += weights[i] = Math.exp((scores[i]! - max) / temperature);
  for (let i = 0; i < views; i++) weights[i] = weights[i]! / sum;
  return weights;
}

/** entropy_avg: the mean over rows of −Σ softmax·log_softmax (differentiable). */
export function meanRowEntropy(logits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const logProbabilities = logSoftmax(logits, 1);
    return tf.mean(tf.neg(tf.sum(tf.mul(tf.exp(logProbabilities), logProbabilities), 1)));
  });
}

export interface RtptSettings {
  learningRate: number;
  ttaSteps: number;
  selection: number;
  topK: number;
  temperature: number;
}

export class RtptTuner implements SampleTuner {
  private readonly optimizer: AdamW;
  readonly context: Float32Array;
  private baseText: Promise<Float32Array> | undefined;

  constructor(
    readonly towers: ClipTowers,
    readonly settings: RtptSettings,
  ) {
    this.context = towers.initialCtx.slice();
    this.optimizer = new AdamW([this.context], { lr: settings.learningRate, ...SEED_ADAMW });
  }

  private baseTextFeatures(): Promise<Float32Array> {
    this.baseText ??= this.towers.textFeatures(this.towers.initialCtx);
    return this.baseText;
  }

  async prepare(): Promise<void> {
    await this.baseTextFeatures();
  }

  async tuneSample(views: SampleViews): Promise<TuningOutcome> {
    const { towers, settings } = this;
    const { embedDim: dim, numClasses: classes, logitScale } = towers;
    this.context.set(towers.initialCtx);
    this.optimizer.reset();
    const t0 = performance.now();
    const features = await towers.encodeImages(views.data.subarray(0, views.count * views.size * views.size * 3), views.count, views.size);
    const baseText = await this.baseTextFeatures();
    const baseLogits = tf.tidy(() => new Float32Array(clipLogits(tf.tensor2d(features.subarray(0, dim), [1, dim]), tf.tensor2d(baseText, [classes, dim]), logitScale).dataSync()));
    const t1 = performance.now();
    const image = tf.tensor2d(features, [views.count, dim]);
    let loss = 0.0;
    let tuned: Float32Array;
    try {
      let selected: number[] | undefined;
      for (let step = 0; step < settings.ttaSteps; step++) {
        const lossGradient = (text: Float32Array): Float32Array =>
          tf.tidy(() => {
            const lossOf = (t: tf.Tensor2D) => {
              const logits = clipLogits(image, t, logitScale);
              // The selection is made once, on the first step, and reused (rtpt.py: `selected_idx`).
              selected ??= confidentIndices(logits, settings.selection);
              return meanRowEntropy(tf.matMul(rowSelector(selected, views.count), logits));
            };
            const { value, grad } = tf.valueAndGrad(lossOf)(tf.tensor2d(text, [classes, dim]));
            loss = value.dataSync()[0]!;
            return new Float32Array(grad.dataSync());
          });
        const { ctxGradient } = await towers.textFeaturesWithGradient(this.context, lossGradient);
        this.optimizer.step([ctxGradient]);
      }
      const t2 = performance.now();
      const text = await towers.textFeatures(this.context);
      tuned = tf.tidy(() => new Float32Array(clipLogits(image, tf.tensor2d(text, [classes, dim]), logitScale).dataSync()));
      const weights = reliabilityWeights(features, views.count, dim, settings.topK, settings.temperature);
      const scores = new Float64Array(classes);
      for (let v = 0; v < views.count; v++) for (let c = 0; c < classes; c++) scores[c] = scores[c]! + weights[v]! * tuned[v * classes + c]!;
      const t3 = performance.now();
      this.optimizer.reset();
      return {
        baseLogits,
        tptLogits: Float32Array.from(scores),
        loss,
        seconds: { imageTower: (t1 - t0) / 1000, tuning: (t2 - t1) / 1000, evaluation: (t3 - t2) / 1000 },
      };
    } finally {
      image.dispose();
    }
  }
}

export const rtptMethod: EpisodicMethod = {
  ...METHOD_SPECS['r-tpt'],
  createTuner: (towers: ClipTowers, config: TptConfig) =>
    new RtptTuner(towers, {
      learningRate: config.learning_rate,
      ttaSteps: config.tta_steps,
      selection: config.selection_p_all,
      topK: hyperparameterValue(config, 'rtpt_top_k'),
      temperature: hyperparameterValue(config, 'rtpt_temperature'),
    }),
};
