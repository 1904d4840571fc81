/**
 * What a run tells its user while it works: the start banner, progress after each sample, and the end.
 * The coordinator only calls this interface; `console-reporter.ts` draws it on a terminal or as log lines,
 * tests pass `silentReporter`.
 */
import type { RunSummary } from './summary.js';

export interface BannerInfo {
  runDir: string;
  resumed: boolean;
  /** Positions already done when this process started (resumed runs). */
  alreadyDone: number;
  total: number;
  seed: number;
  /** The test-time adaptation method and what it runs, e.g. "tpt (loss defaultTPT, 1 step)". */
  method: string;
  backend: string;
  weights: string;
  arch: string;
  coop: string;
  vocabulary: string;
  /** `title`: the dataset's (registry); `splitFile`: the split file a split-file set was listed from. */
  dataset: { root: string; samples: number; classes: number; complete: boolean; title?: string; splitFile?: string };
  shard: string | null;
  /** The resolved config as the seed prints it (`Config: {...}`). */
  configJson: string;
}

export interface ProgressSnapshot {
  /** Positions done (samples + skipped files), this run and earlier sessions. */
  done: number;
  total: number;
  /** Positions done by this process. */
  doneThisSession: number;
  /** Seconds since this process started on samples. */
  sessionSeconds: number;
  top1Base: number;
  top1Tpt: number;
  skipped: number;
}

export type RunStatus = 'finished' | 'interrupted' | 'already-finished';

export interface RunReporter {
  banner(info: BannerInfo): void;
  progress(snapshot: ProgressSnapshot): void;
  /** A file that could not be decoded (also in skipped.jsonl). */
  skipped(file: string, error: string): void;
  /** A one-line notice before the banner (e.g. waiting to take over the lock of a killed run). */
  notice(message: string): void;
  end(status: RunStatus, summary: RunSummary, runDir: string, outDir: string): void;
}

export const silentReporter: RunReporter = {
  banner: () => undefined,
  progress: () => undefined,
  skipped: () => undefined,
  notice: () => undefined,
  end: () => undefined,
};
