import * as tf from '@tensorflow/tfjs-core';
import type { ClipTowers } from '../engine/towers.js';
import type { LossName } from '../losses/names.js';
import { LOSSES } from '../losses/registry.js';
import type { LossContext, LossFn } from '../losses/types.js';
import { zeroShotTextFeatures } from '../engine/template-ensemble.js';
import { clipLogits } from '../model/logits.js';
import { AdamW } from './adamw.js';
import type { SampleTuner } from './methods/types.js';

/**
 * The seed's per-sample TPT step (test_time_adapt_eval's loop body plus test_time_tuning), as a function of
 * one sample's views only: it reads no files, writes nothing and keeps no state between samples, so the
 * coordinator can call it in this thread or hand it to worker threads, each with its own model. It does not
 * know which engine runs the towers (`ClipTowers`: host arrays in and out); the logits, the loss and its
 * gradient with respect to the text features are tiny and run on tfjs; AdamW runs on the host.
 *
 * Per sample:
 * 1. reset the prompt context to its initial value (CoOp's ctx, or ctx_init) and the optimizer state;
 * 2. image features of ALL views, once (no gradient ever flows into the image tower);
 * 3. base logits: view 0 against the text features of the initial context (computed once per run), or of the
 *    config's template ensemble (`templates`: then there is no tuning and the TPT logits are the base ones);
 * 4. `ttaSteps` × (logits of all views at the current context → loss → one AdamW step on the context);
 * 5. TPT logits: view 0 against the text features of the tuned context.
 * View 0's features serve steps 3–5, as the seed feeds the same preprocessed original image to all three.
 * Everything is float32 (the seed's autocast/GradScaler only mattered on its GPU).
 */

/** One sample's views, NHWC, normalised: view 0 is the CLIP-preprocessed original image. */
export interface SampleViews {
  /** [count, size, size, 3] float32, row-major. */
  data: Float32Array;
  count: number;
  size: number;
}

export interface TuningOutcome {
  /** Logits of view 0 with the initial prompt, one per class. */
  baseLogits: Float32Array;
  /** Logits of view 0 after tuning. */
  tptLogits: Float32Array;
  /** Loss value of the last tuning step (the seed's `loss.item()`; its initial 0.0 when there is no step). */
  loss: number;
  /** Where the sample's time went (`tpt bench` reports it; results never depend on it). */
  seconds: PhaseSeconds;
  /** Online methods: this sample's change to the run's adaptation state (JSON, exact), saved in state.jsonl. */
  stateUpdate?: unknown;
}

/** Seconds per phase of one sample: image tower (all views), tuning steps, and base + TPT evaluation. */
export interface PhaseSeconds {
  imageTower: number;
  tuning: number;
  evaluation: number;
}

export interface TunerSettings {
  loss: LossName;
  lossContext: LossContext;
  learningRate: number;
  ttaSteps: number;
  /**
   * A term of the text features alone added to the loss in every step (C-TPT's −λ·ATFD); its gradient
   * joins the loss's in dL/d(text features), which the towers carry back to the context. Absent for TPT.
   */
  textTerm?: (textFeatures: tf.Tensor2D) => tf.Scalar;
}

/** AdamW as the seed builds it: `torch.optim.AdamW(params, lr)`, every other argument torch's default. */
export const SEED_ADAMW = { betas: [0.9, 0.999] as const, eps: 1e-8, weight_decay: 0.01 };

export class TestTimeTuner implements SampleTuner {
  private readonly optimizer: AdamW;
  private readonly lossFn: LossFn;
  /** The context being tuned (host): the initial one at the start of every sample, the tuned one after it. */
  readonly context: Float32Array;
  private baseText: Promise<Float32Array> | undefined;

  constructor(
    readonly towers: ClipTowers,
    readonly settings: TunerSettings,
  ) {
    if (towers.templatePrompts && settings.ttaSteps > 0) throw new Error('a template ensemble has no context to tune: tta_steps must be 0 (checkConfigConsistency refuses the config)');
    this.lossFn = LOSSES[settings.loss].fn;
    this.context = towers.initialCtx.slice();
    this.optimizer = new AdamW([this.context], { lr: settings.learningRate, ...SEED_ADAMW });
  }

  /**
   * Text features [C, E] at the initial context. They do not depend on the sample, so they are computed once
   * per tuner (a worker calls this at start-up, so no sample pays for it).
   */
  baseTextFeatures(): Promise<Float32Array> {
    this.baseText ??= zeroShotTextFeatures(this.towers);
    return this.baseText;
  }

  async prepare(): Promise<void> {
    await this.baseTextFeatures();
  }

  /** Runs the whole per-sample procedure; tfjs tensors it creates are all released before it returns. */
  async tuneSample(views: SampleViews): Promise<TuningOutcome> {
    const { towers } = this;
    // 1. The seed: model.reset(); optimizer.load_state_dict(optim_state) (a fresh optimizer's state).
    this.context.set(towers.initialCtx);
    this.optimizer.reset();

    // Every phase ends in a host read, so the clock sees its work.
    const t0 = performance.now();
    // 2. [V, S, S, 3] → [V, E]. Without a tuning step only view 0 is ever scored (base and TPT logits), so the
    // other views cannot change any output: zero-shot runs (tta_steps 0) encode view 0 alone.
    const encoded = this.settings.ttaSteps > 0 ? views.count : 1;
    const perView = views.size * views.size * 3;
    const features = await towers.encodeImages(views.data.subarray(0, encoded * perView), encoded, views.size);
    // [E]: view 0's row, shared by the base and the TPT scores.
    const original = features.subarray(0, towers.embedDim);
    // 3. Base text features do not depend on the sample (cached).
    const baseLogits = this.logitsOf(original, await this.baseTextFeatures());
    const t1 = performance.now();
    // 4.
    let loss = 0.0;
    if (this.settings.ttaSteps > 0) {
      const image = tf.tensor2d(features, [views.count, towers.embedDim]);
      try {
        for (let step = 0; step < this.settings.ttaSteps; step++) loss = await this.tuningStep(image);
      } finally {
        image.dispose();
      }
    }
    const t2 = performance.now();
    // 5.
    // A template ensemble is a fixed classifier (the config refuses tuning steps with it): TPT's score is the base one.
    const tptLogits = towers.templatePrompts ? baseLogits.slice() : this.logitsOf(original, await towers.textFeatures(this.context));
    const t3 = performance.now();
    // The base logits' host read waits for the image tower; their own cost is one [1, E]×[E, C] product.
    const seconds = { imageTower: (t1 - t0) / 1000, tuning: (t2 - t1) / 1000, evaluation: (t3 - t2) / 1000 };
    // The moments are only needed within the sample.
    this.optimizer.reset();
    return { baseLogits, tptLogits, loss, seconds };
  }

  /** One view's [E] features against [C, E] text features → the C logits on the host. */
  private logitsOf(imageFeatures: Float32Array, textFeatures: Float32Array): Float32Array {
    const { embedDim, numClasses, logitScale } = this.towers;
    return tf.tidy(() => {
      const logits = clipLogits(tf.tensor2d(imageFeatures, [1, embedDim]), tf.tensor2d(textFeatures, [numClasses, embedDim]), logitScale);
      return new Float32Array(logits.dataSync());
    });
  }

  /**
   * Text features at the current context → logits of all views → loss → its gradient with respect to the
   * text features (tfjs) → the towers' vector–Jacobian product → one AdamW step on the host. Returns the loss.
   */
  private async tuningStep(image: tf.Tensor2D): Promise<number> {
    const { embedDim, numClasses, logitScale } = this.towers;
    let loss = Number.NaN;
    const lossGradient = (text: Float32Array): Float32Array =>
      tf.tidy(() => {
        const { textTerm } = this.settings;
        const lossOf = (t: tf.Tensor2D) => {
          const loss = this.lossFn(clipLogits(image, t, logitScale), this.settings.lossContext);
          return textTerm === undefined ? loss : tf.add(loss, textTerm(t));
        };
        const { value, grad } = tf.valueAndGrad(lossOf)(tf.tensor2d(text, [numClasses, embedDim]));
        loss = value.dataSync()[0]!;
        return new Float32Array(grad.dataSync());
      });
    const { ctxGradient } = await this.towers.textFeaturesWithGradient(this.context, lossGradient);
    this.optimizer.step([ctxGradient]);
    return loss;
  }
}
