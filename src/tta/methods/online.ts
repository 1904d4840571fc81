import type { ClipTowers } from '../../engine/towers.js';
import type { SampleViews, TuningOutcome } from '../engine.js';
import { FeatureSamplePass, type FeatureInputs } from './feature-tuner.js';
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
  private readonly pass: FeatureSamplePass;

  constructor(
    readonly towers: ClipTowers,
    private readonly algorithm: OnlineAlgorithm,
  ) {
    this.pass = new FeatureSamplePass(towers);
  }

  async prepare(): Promise<void> {
    await this.pass.textFeatures();
  }

  restore(updates: readonly unknown[]): void {
    for (const update of updates) this.algorithm.replay(update);
  }

  async tuneSample(views: SampleViews): Promise<TuningOutcome & { stateUpdate: unknown }> {
    const { outcome, result } = await this.pass.run(views, (inputs) => this.algorithm.step(inputs));
    return { ...outcome, stateUpdate: result.update };
  }
}
