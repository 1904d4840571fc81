import type { SampleRecord } from './records.js';

/**
 * summary.json: the run's headline numbers, computed from samples.jsonl alone (so a resumed, merged or
 * copied run folder gives the same figures), plus progress and timing.
 */
export interface RunSummary {
  run_name: string;
  /** True once every sample of the run (or shard) is done and the final TensorBoard summaries are written. */
  finished: boolean;
  /** Samples scored (skipped files excluded). */
  samples_done: number;
  /** Positions of the run's sample list: samples done + files skipped + samples still to do. */
  samples_total: number;
  files_skipped: number;
  top1_base: number;
  top1_tpt: number;
  top5_base: number;
  top5_tpt: number;
  /** Samples TPT got right and the base prompt wrong (the seed's Samples-Global/NImproved). */
  improved: number;
  /** Samples the base prompt got right and TPT wrong (Samples-Global/NWorsened). */
  worsened: number;
  /** Expected calibration error over 15 equal-width confidence bins. */
  ece_base: number;
  ece_tpt: number;
  /** Wall-clock seconds spent on samples, over every process that worked on this run. */
  elapsed_seconds: number;
  /** elapsed_seconds / samples processed (those of all sessions). */
  seconds_per_sample: number;
  backend: string;
  workers: number;
  updated: string;
}

/** Keys that depend on the machine and the clock rather than on the results. */
export const TIMING_KEYS = ['elapsed_seconds', 'seconds_per_sample', 'updated', 'backend', 'workers'] as const;

export const ECE_BINS = 15;

/**
 * Expected calibration error: samples binned by confidence into (k/B, (k+1)/B], then the sample-weighted
 * mean of |accuracy − mean confidence| per bin (Guo et al. 2017; 15 bins as is usual for CLIP).
 */
export function expectedCalibrationError(confidences: readonly number[], correct: readonly boolean[], bins = ECE_BINS): number {
  const n = confidences.length;
  if (n === 0) return 0;
  const count = new Array<number>(bins).fill(0);
  const confSum = new Array<number>(bins).fill(0);
  const correctSum = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const c = confidences[i]!;
    const bin = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
    count[bin]! += 1;
    confSum[bin]! += c;
    correctSum[bin]! += correct[i] ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const k = count[b]!;
    if (k > 0) ece += (k / n) * Math.abs(correctSum[b]! / k - confSum[b]! / k);
  }
  return ece;
}

export interface SummaryContext {
  runName: string;
  finished: boolean;
  samplesTotal: number;
  filesSkipped: number;
  elapsedSeconds: number;
  /** Samples whose time is in elapsedSeconds. */
  timedSamples: number;
  backend: string;
  workers: number;
  now?: Date;
}

export function summarizeRecords(records: readonly SampleRecord[], context: SummaryContext): RunSummary {
  const n = records.length;
  const rate = (count: number): number => (n > 0 ? count / n : 0);
  let top1Base = 0;
  let top1Tpt = 0;
  let top5Base = 0;
  let top5Tpt = 0;
  let improved = 0;
  let worsened = 0;
  for (const r of records) {
    if (r.base.pred === r.target) top1Base += 1;
    if (r.tpt.pred === r.target) top1Tpt += 1;
    if (r.base.top5.includes(r.target)) top5Base += 1;
    if (r.tpt.top5.includes(r.target)) top5Tpt += 1;
    if (r.change > 0) improved += 1;
    if (r.change < 0) worsened += 1;
  }
  return {
    run_name: context.runName,
    finished: context.finished,
    samples_done: n,
    samples_total: context.samplesTotal,
    files_skipped: context.filesSkipped,
    top1_base: rate(top1Base),
    top1_tpt: rate(top1Tpt),
    top5_base: rate(top5Base),
    top5_tpt: rate(top5Tpt),
    improved,
    worsened,
    ece_base: expectedCalibrationError(records.map((r) => r.base.conf), records.map((r) => r.base.pred === r.target)),
    ece_tpt: expectedCalibrationError(records.map((r) => r.tpt.conf), records.map((r) => r.tpt.pred === r.target)),
    elapsed_seconds: context.elapsedSeconds,
    seconds_per_sample: context.timedSamples > 0 ? context.elapsedSeconds / context.timedSamples : 0,
    backend: context.backend,
    workers: context.workers,
    updated: (context.now ?? new Date()).toISOString(),
  };
}
