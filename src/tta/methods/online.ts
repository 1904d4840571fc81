import * as tf from '@tensorflow/tfjs-core';
import { zeroShotTextFeatures } from '../../engine/template-ensemble.js';
import type { ClipTowers } from '../../engine/towers.js';
import { clipLogits } from '../../model/logits.js';
import type { SampleViews, TuningOutcome } from '../engine.js';
import type { FeatureInputs } from './feature-tuner.js';
import type { SampleTuner } from './types.js';

/**
 * The per-sample loop of the online methods (TDA, BoostAdapter, DMN-ZS): no gradient, text encoded once per
 * run (the config's template ensemble or the initial prompt), and run-level state that each sample reads and
 * updates, strictly in stream order. A sample's change to the state is returned as a JSON value (`update`,
 * features as base64 float32, numbers as float64), which the run appends to state.jsonl before the sample's
 * line; resuming replays those updates through the same `apply` the live run used, so the state is exactly
 * the uninterrupted run's.
 */

/** An online method's state and arithmetic over one sample's unit features. */
export interface OnlineAlgorithm {
  /** Updates the state with this sample (as the official loop does, before scoring) and returns its final scores and the update. */
  step(inputs: FeatureInputs): { scores: Float64Array; update: unknown };
  /** Applies an update an earlier `step` returned (read back from state.jsonl). */
  replay(update: unknown): void;
}

/** A float32 array as base64 of its little-endian bytes: exact, and a third of the size of decimal text. */
export function encodeFloat32(values: Float32Array): string {
  const copy = new Float32Array(values);
  return Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength).toString('base64');
}

export function decodeFloat32(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** What an online method's tuner adds to the episodic interface: its state, replayed at resume. */
export interface OnlineSampleTuner extends SampleTuner {
  /** Replays the updates of the samples an earlier process finished, in stream order. */
  restore(updates: readonly unknown[]): void;
  tuneSample(views: SampleViews): Promise<TuningOutcome & { stateUpdate: unknown }>;
}

export class OnlineTuner implements OnlineSampleTuner {
  private text: Promise<Float32Array> | undefined;

  constructor(
    readonly towers: ClipTowers,
    private readonly algorithm: OnlineAlgorithm,
  ) {}

  private textFeatures(): Promise<Float32Array> {
    this.text ??= zeroShotTextFeatures(this.towers);
    return this.text;
  }

  async prepare(): Promise<void> {
    await this.textFeatures();
  }

  restore(updates: readonly unknown[]): void {
    for (const update of updates) this.algorithm.replay(update);
  }

  async tuneSample(views: SampleViews): Promise<TuningOutcome & { stateUpdate: unknown }> {
    const { towers } = this;
    const t0 = performance.now();
    const image = await towers.encodeImages(views.data.subarray(0, views.count * views.size * views.size * 3), views.count, views.size);
    const text = await this.textFeatures();
    const { embedDim: dim, numClasses: classes, logitScale } = towers;
    const t1 = performance.now();
    const { scores, update } = this.algorithm.step({ image, views: views.count, text, classes, dim, logitScale });
    const t2 = performance.now();
    // View 0's zero-shot logits, as every method's `base`.
    const baseLogits = tf.tidy(() => new Float32Array(clipLogits(tf.tensor2d(image.subarray(0, dim), [1, dim]), tf.tensor2d(text, [classes, dim]), logitScale).dataSync()));
    const t3 = performance.now();
    return {
      baseLogits,
      tptLogits: Float32Array.from(scores),
      loss: 0.0,
      seconds: { imageTower: (t1 - t0) / 1000, tuning: (t2 - t1) / 1000, evaluation: (t3 - t2) / 1000 },
      stateUpdate: update,
    };
  }
}
