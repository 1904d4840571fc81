import type { TptConfig } from '../../config/schema.js';
import type { ClipTowers } from '../../engine/towers.js';
import type { SampleViews, TuningOutcome } from '../engine.js';
import type { MethodSpec } from './names.js';

/**
 * What a method gives the run: a per-sample tuner over towers of either engine. `tpt run` (in this thread or
 * in each worker thread) and `tpt bench` build it through `createSampleTuner` (registry.ts) and nowhere else.
 */
export interface SampleTuner {
  /** Work that does not depend on the sample (text features at the initial prompt), once per run, before the first sample's clock. */
  prepare(): Promise<void>;
  /**
   * One sample's views → the zero-shot logits of view 0 (`baseLogits`) and the method's final class scores
   * (`tptLogits`). Episodic: the result depends on these views only; every tensor is released before it returns.
   */
  tuneSample(views: SampleViews): Promise<TuningOutcome>;
  /** An online method's run-level state (absent for episodic methods): saved with each finished sample, restored at resume. */
  readonly onlineState?: OnlineState;
}

/**
 * The state an online method carries from sample to sample (caches, memories). `snapshot` is plain JSON whose
 * numbers round-trip exactly (float32 values and float64 scalars as JS numbers), so a restored state is the
 * uninterrupted one bit for bit.
 */
export interface OnlineState {
  snapshot(): unknown;
  /** Replaces the state with a snapshot taken by `snapshot` (throws on one that does not fit this run). */
  restore(snapshot: unknown): void;
}

/** An episodic method: a fresh, stateless-between-samples tuner per model (so per worker thread). */
export interface EpisodicMethod extends MethodSpec {
  kind: 'episodic';
  createTuner(towers: ClipTowers, config: TptConfig): SampleTuner;
}

/**
 * An online method: its tuner keeps run-level state (`onlineState`), updated after each sample in stream
 * order, saved with each finished sample and restored at resume (../online-state.ts);
 * startSampleProcessor (../sample-processor.ts) runs it in one thread, one sample at a time.
 */
export interface OnlineMethod extends MethodSpec {
  kind: 'online';
  createTuner(towers: ClipTowers, config: TptConfig): SampleTuner & { readonly onlineState: OnlineState };
}

/** Every registered method. */
export type MethodEntry = EpisodicMethod | OnlineMethod;
