import { MetricsTracker, type TrackerSummary } from '../metrics/tracker.js';
import type { EngineRecord } from '../engine/towers.js';
import { DEFAULT_DATASET, datasetClassnames } from '../data/datasets/registry.js';
import type { SampleRecord } from './records.js';
import type { ContextRecord, RanRecord } from './run-record.js';

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
  /** Expected calibration error over 15 equal-width confidence bins (src/metrics/ece.ts). */
  ece_base: number;
  ece_tpt: number;
  /** Wall-clock seconds spent on samples, over every process that worked on this run. */
  elapsed_seconds: number;
  /** elapsed_seconds / samples processed (those of all sessions). */
  seconds_per_sample: number;
  backend: string;
  /** The engine that ran the towers in the last session (absent in older summaries). */
  engine?: EngineRecord;
  /** What ran (run-record.ts): the method, the architecture read from the weights, the context's source. Absent in older summaries. */
  method?: string;
  arch?: string;
  context?: ContextRecord;
  workers: number;
  updated: string;
  /** Only in a run stopped by a signal: its name ("SIGINT", "SIGTERM"); running the command again resumes. */
  interrupted_by?: string;
  /** Only for an online method (tda, dmn-zs, boostadapter): its results depend on the stream's order. */
  online?: true;
  /** Online runs: SHA-256 of the run's (or shard's) sample order, one "index<TAB>file" line per position. */
  stream_order_sha256?: string;
  /** Online runs over a shard: each shard adapted on its own slice (`online_shards: independent`). */
  online_shards?: 'independent';
}

/** What summary.json says about an online run. */
export interface OnlineSummary {
  streamOrderSha256: string;
  shards?: 'independent';
}

/** Keys that depend on the machine and the clock rather than on the results. */
export const TIMING_KEYS = ['elapsed_seconds', 'seconds_per_sample', 'updated', 'backend', 'engine', 'workers'] as const;

export interface SummaryContext {
  runName: string;
  finished: boolean;
  samplesTotal: number;
  filesSkipped: number;
  elapsedSeconds: number;
  /** Samples whose time is in elapsedSeconds. */
  timedSamples: number;
  backend: string;
  engine?: EngineRecord;
  /** What ran, when known (absent for a merge of older shards). */
  ran?: RanRecord;
  workers: number;
  now?: Date;
  /** The run's class names (its dataset's); the default dataset's when not given. */
  classnames?: readonly string[];
  /** The signal that stopped the run, if one did. */
  interruptedBy?: string;
  online?: OnlineSummary;
}

/** summary.json from the tracker's running totals (the same numbers TensorBoard shows). */
export function buildRunSummary(totals: TrackerSummary, context: SummaryContext): RunSummary {
  return {
    run_name: context.runName,
    finished: context.finished,
    samples_done: totals.samples,
    samples_total: context.samplesTotal,
    files_skipped: context.filesSkipped,
    top1_base: totals.top1.base,
    top1_tpt: totals.top1.tpt,
    top5_base: totals.top5.base,
    top5_tpt: totals.top5.tpt,
    improved: totals.improved,
    worsened: totals.worsened,
    ece_base: totals.ece.base,
    ece_tpt: totals.ece.tpt,
    elapsed_seconds: context.elapsedSeconds,
    seconds_per_sample: context.timedSamples > 0 ? context.elapsedSeconds / context.timedSamples : 0,
    backend: context.backend,
    ...(context.engine ? { engine: context.engine } : {}),
    ...(context.ran ? { method: context.ran.method, arch: context.ran.arch, context: context.ran.context } : {}),
    workers: context.workers,
    updated: (context.now ?? new Date()).toISOString(),
    ...(context.interruptedBy !== undefined ? { interrupted_by: context.interruptedBy } : {}),
    ...(context.online
      ? { online: true as const, stream_order_sha256: context.online.streamOrderSha256, ...(context.online.shards ? { online_shards: context.online.shards } : {}) }
      : {}),
  };
}

/** The running totals of records alone: they are replayed into a silent tracker over the run's class names. */
export function totalsOfRecords(records: readonly SampleRecord[], classnames: readonly string[] = datasetClassnames(DEFAULT_DATASET)): TrackerSummary {
  const tracker = new MetricsTracker({ writer: null, nClasses: classnames.length, classnames, saveImgs: false });
  tracker.replay(records.map((r) => ({ step: r.index, target: r.target, base: r.base, tpt: r.tpt })));
  return tracker.summary();
}

/** The summary of a folder's records alone (for merged or copied runs). */
export function summarizeRecords(records: readonly SampleRecord[], context: SummaryContext): RunSummary {
  return buildRunSummary(totalsOfRecords(records, context.classnames), context);
}
