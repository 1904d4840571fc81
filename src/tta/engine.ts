import * as tf from '@tensorflow/tfjs-core';
import { LOSSES, type LossName } from '../losses/registry.js';
import type { LossContext, LossFn } from '../losses/types.js';
import type { ClipTestTimeModel } from '../model/clip.js';
import { AdamW } from './adamw.js';

/**
 * The seed's per-sample TPT step (test_time_adapt_eval's loop body plus test_time_tuning), as a function of
 * one sample's views only: it reads no files, writes nothing and keeps no state between samples, so the
 * coordinator can call it in this thread or hand it to worker threads, each with its own model.
 *
 * Per sample:
 * 1. reset the prompt context to its initial value (CoOp's ctx, or ctx_init) and the optimizer state;
 * 2. image features of ALL views, once (no gradient ever flows into the image tower);
 * 3. base logits: view 0 against the text features of the initial context (computed once per run);
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
}

/** AdamW as the seed builds it: `torch.optim.AdamW(params, lr)`, every other argument torch's default. */
export const SEED_ADAMW = { betas: [0.9, 0.999] as const, eps: 1e-8, weight_decay: 0.01 };

export class TestTimeTuner {
  private readonly optimizer: AdamW;
  private readonly lossFn: LossFn;

  constructor(
    readonly model: ClipTestTimeModel,
    readonly settings: TunerSettings,
  ) {
    this.lossFn = LOSSES[settings.loss].fn;
    this.optimizer = new AdamW([model.ctx], { lr: settings.learningRate, ...SEED_ADAMW });
  }

  /** Runs the whole per-sample procedure; tensors it creates are all released before it returns. */
  tuneSample(views: SampleViews): TuningOutcome {
    const { model } = this;
    // 1. The seed: model.reset(); optimizer.load_state_dict(optim_state) (a fresh optimizer's state).
    model.resetContext();
    this.optimizer.reset();

    // Every phase ends in a host read or a synchronous kernel, so the clock sees its work (wasm, cpu).
    const t0 = performance.now();
    // 2. [V, S, S, 3] → [V, E]
    const features = tf.tidy(() => model.encodeImages(tf.tensor4d(views.data, [views.count, views.size, views.size, 3])));
    try {
      // [1, E]: view 0's row, shared by the base and the TPT scores.
      const originalFeatures = tf.slice(features, [0, 0], [1, -1]);
      try {
        // 3. Base text features do not depend on the sample; the model caches them.
        const baseLogits = this.logitsOf(originalFeatures, model.initialTextFeatures());
        const t1 = performance.now();
        // 4.
        let loss = 0.0;
        for (let step = 0; step < this.settings.ttaSteps; step++) loss = this.tuningStep(features);
        const t2 = performance.now();
        // 5.
        const tptLogits = tf.tidy(() => this.logitsOf(originalFeatures, model.textFeatures()));
        const t3 = performance.now();
        // The base logits' host read waits for the image tower; their own cost is one [1, E]×[E, C] product.
        const seconds = { imageTower: (t1 - t0) / 1000, tuning: (t2 - t1) / 1000, evaluation: (t3 - t2) / 1000 };
        return { baseLogits, tptLogits, loss, seconds };
      } finally {
        originalFeatures.dispose();
      }
    } finally {
      features.dispose();
      // The moments are only needed within the sample; freeing them now keeps nothing alive between samples.
      this.optimizer.reset();
    }
  }

  /** [1, E] features against [C, E] text features → the C logits on the host. */
  private logitsOf(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D): Float32Array {
    const logits = this.model.logits(imageFeatures, textFeatures);
    try {
      return logits.dataSync() as Float32Array;
    } finally {
      logits.dispose();
    }
  }

  /** Logits of all views → loss → gradient with respect to the context → one AdamW step. Returns the loss. */
  private tuningStep(features: tf.Tensor2D): number {
    const { model } = this;
    const { value, grads } = tf.variableGrads(
      () => this.lossFn(model.logits(features, model.textFeatures()), this.settings.lossContext),
      [model.ctx],
    );
    try {
      const loss = value.dataSync()[0]!;
      this.optimizer.step(grads);
      return loss;
    } finally {
      value.dispose();
      for (const grad of Object.values(grads)) grad.dispose();
    }
  }

  /** Frees the optimizer's moments (the model belongs to the caller). */
  dispose(): void {
    this.optimizer.dispose();
  }
}
