import type { TptConfig } from '../../config/schema.js';
import type { ClipTowers } from '../../engine/towers.js';
import type { SampleViews, TuningOutcome } from '../engine.js';
import type { MethodSpec } from './names.js';
import type { OnlineSampleTuner } from './online.js';

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
}

/** An episodic method: a fresh, stateless-between-samples tuner per model (so per worker thread). */
export interface EpisodicMethod extends MethodSpec {
  kind: 'episodic';
  createTuner(towers: ClipTowers, config: TptConfig): SampleTuner;
}

/**
 * An online method: its tuner keeps run-level state, updated by each sample in stream order; each sample's
 * change is saved with its record (state.jsonl) and replayed at resume (`restore`). startSampleProcessor
 * (../sample-processor.ts) runs it in one thread, one sample at a time.
 */
export interface OnlineMethod extends MethodSpec {
  kind: 'online';
  createTuner(towers: ClipTowers, config: TptConfig): OnlineSampleTuner;
}

/** Every registered method. */
export type MethodEntry = EpisodicMethod | OnlineMethod;
