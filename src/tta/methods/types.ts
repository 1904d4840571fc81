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
}

/** An episodic method: a fresh, stateless-between-samples tuner per model (so per worker thread). */
export interface EpisodicMethod extends MethodSpec {
  kind: 'episodic';
  createTuner(towers: ClipTowers, config: TptConfig): SampleTuner;
}

/**
 * Every registered method. An online method (spec kind 'online') joins this union with its own entry: its
 * tuner keeps run-level state, updated after each sample in stream order, saved with each finished sample and
 * restored at resume; startSampleProcessor (../sample-processor.ts) runs any non-episodic method in one thread.
 */
export type MethodEntry = EpisodicMethod;
