/**
 * One report row per run, in the seed's table style (augmenter, loss, naug, npatch, overlap, augmix, then the
 * accuracies and the improved/worsened counts), plus calibration, size and speed.
 *
 * A finished run's figures are its summary.json's. An unfinished one (no summary, or `finished: false`) is
 * summarised afresh from the samples it has finished, with the engine's own `summarizeRecords`, and marked.
 */
import { classnamesOfConfig, datasetOfConfig } from '../data/datasets/registry.js';
import { summarizeRecords } from '../run/summary.js';
import type { RunSummary } from '../run/summary.js';
import type { RunFolder } from './run-folder.js';
import { methodGroup, methodLabel, runFacts } from './run-method.js';

export interface ReportRow {
  run: string;
  dir: string;
  /** The config's `dataset` (the registry's default for runs written before the key existed). */
  dataset: string;
  /** The CLIP architecture read from the weights (summary.json / config.json `arch`); older folders: the config's `arch`. */
  backbone: string;
  /** The method group (run-method.ts): zero-shot, CoOp, TPT, CoOp + TPT, Ensemble, C-TPT, …, "(online)" for online methods. */
  method: string;
  /** The group with the initial context of a non-CoOp prompt: `TPT ("a photo of a")`. */
  method_label: string;
  augmenter: string;
  loss: string;
  naug: number | null;
  npatch: number | null;
  overlap: number | null;
  augmix: boolean | null;
  base_top1: number;
  base_top5: number;
  tpt_top1: number;
  tpt_top5: number;
  improved: number;
  worsened: number;
  ece_base: number;
  ece_tpt: number;
  samples: number;
  files_skipped: number;
  seconds_per_sample: number;
  finished: boolean;
  /** The run's resolved config, for `--by` and the plot's grouping. */
  config: Record<string, unknown>;
}

/** A run counts as finished only when its summary.json says so. */
export function isFinished(folder: RunFolder): boolean {
  return folder.summary?.finished === true;
}

function configString(config: Record<string, unknown>, key: string): string {
  const v = config[key];
  return typeof v === 'string' ? v : v === undefined ? '' : String(v);
}

function configNumber(config: Record<string, unknown>, key: string): number | null {
  const v = config[key];
  return typeof v === 'number' ? v : null;
}

function finiteOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** The figures of a run: its summary.json when finished, else recomputed from samples.jsonl. */
export function runFigures(folder: RunFolder): Pick<
  RunSummary,
  'top1_base' | 'top1_tpt' | 'top5_base' | 'top5_tpt' | 'improved' | 'worsened' | 'ece_base' | 'ece_tpt' | 'samples_done' | 'files_skipped'
> {
  if (isFinished(folder)) return folder.summary as unknown as RunSummary;
  const partial = summarizeRecords(folder.samples, {
    runName: folder.name,
    finished: false,
    samplesTotal: folder.samples.length,
    filesSkipped: finiteOr(folder.summary?.files_skipped, 0),
    elapsedSeconds: 0,
    timedSamples: 0,
    backend: '',
    workers: 1,
    classnames: classnamesOfConfig(folder.config),
  });
  if (folder.samples.length === 0) {
    // nothing finished yet: no accuracy to speak of (the tracker's 0 would read as a measured 0%)
    for (const key of ['top1_base', 'top1_tpt', 'top5_base', 'top5_tpt', 'ece_base', 'ece_tpt'] as const) partial[key] = Number.NaN;
  }
  return partial;
}

export function runRow(folder: RunFolder): ReportRow {
  const { config, summary } = folder;
  const figures = runFigures(folder);
  const facts = runFacts(config, folder.configFile, summary);
  return {
    run: folder.name,
    dir: folder.dir,
    dataset: configString(config, 'dataset') || datasetOfConfig(config),
    backbone: facts.arch,
    method: methodGroup(facts),
    method_label: methodLabel(facts),
    augmenter: configString(config, 'augmenter'),
    loss: configString(config, 'loss'),
    naug: configNumber(config, 'n_aug'),
    npatch: configNumber(config, 'n_patches'),
    overlap: configNumber(config, 'overlap'),
    augmix: typeof config.augmix === 'boolean' ? config.augmix : null,
    base_top1: finiteOr(figures.top1_base, Number.NaN),
    base_top5: finiteOr(figures.top5_base, Number.NaN),
    tpt_top1: finiteOr(figures.top1_tpt, Number.NaN),
    tpt_top5: finiteOr(figures.top5_tpt, Number.NaN),
    improved: finiteOr(figures.improved, 0),
    worsened: finiteOr(figures.worsened, 0),
    ece_base: finiteOr(figures.ece_base, Number.NaN),
    ece_tpt: finiteOr(figures.ece_tpt, Number.NaN),
    samples: finiteOr(figures.samples_done, folder.samples.length),
    files_skipped: finiteOr(figures.files_skipped, 0),
    // an unfinished run's summary (written periodically) still knows its speed so far
    seconds_per_sample: summary && finiteOr(summary.seconds_per_sample, 0) > 0 ? (summary.seconds_per_sample as number) : Number.NaN,
    finished: isFinished(folder),
    config,
  };
}
