/**
 * `tpt report`: run folders (or globs, or folders of runs) in, one table out, optionally a plot.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TptError } from '../errors.js';
import { formatReport } from './format-table.js';
import type { ReportFormat } from './format-table.js';
import { expandDirectoryArgsTagged } from './glob.js';
import { plotData, varyingKeys, writePlotPng } from './plot.js';
import { isRunFolder, readRunFolder } from './run-folder.js';
import { runRow } from './run-row.js';
import type { ReportRow } from './run-row.js';
import { methodGroupRank } from './run-method.js';
import { buildTable1, datasetOf, formatTable1Csv, formatTable1Json, formatTable1Markdown, TABLE1_DATASETS } from './table1.js';
import { buildTable2, formatTable2, TABLE2_DATASETS } from './table2.js';

export interface ReportOptions {
  format?: ReportFormat;
  /** Write a PNG of TPT top-1 against `by` here. */
  plot?: string;
  /** The config key on the plot's x axis (default: `overlap` if it varies, else the first varying key). */
  by?: string;
  /** The TPT paper's Table 1 layout (methods × datasets, per backbone) instead of one row per run. */
  table1?: boolean;
  /** The TPT paper's Table 2 layout (methods × the ten cross-dataset sets, per backbone). */
  table2?: boolean;
}

export interface ReportResult {
  rows: ReportRow[];
  text: string;
  /** Folders a glob matched that are neither run folders nor folders of runs (e.g. runs/demo-inputs). */
  skipped: string[];
  plot?: { path: string; by: string; width: number; height: number; lines: number };
}

/**
 * The run folders named by the arguments: each argument is a run folder, a glob, or a folder of run folders
 * (`tpt report runs`), in argument order.
 */
export async function resolveRunFolders(args: readonly string[], skipped: string[] = []): Promise<string[]> {
  if (args.length === 0) {
    throw new TptError('NO_RUNS', 'no run folders given', { hint: "Pass run folders or globs, e.g. `tpt report 'runs/*'`." });
  }
  const dirs = await expandDirectoryArgsTagged(args);
  const runs: string[] = [];
  for (const { dir, fromGlob } of dirs) {
    if (await isRunFolder(dir)) {
      runs.push(dir);
      continue;
    }
    const children = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name))
      .sort();
    const inside: string[] = [];
    for (const child of children) if (await isRunFolder(child)) inside.push(child);
    if (inside.length === 0 && fromGlob) {
      // a glob over out_dir also matches folders that are not runs (the demo's inputs): skipped, and said once
      skipped.push(dir);
      continue;
    }
    if (inside.length === 0) {
      throw new TptError('NOT_A_RUN_FOLDER', `"${dir}" is neither a run folder nor a folder of runs (no config.json in it or its sub-folders)`, {
        hint: 'Pass folders written by `tpt run` (under its out_dir, `runs/` by default).',
      });
    }
    runs.push(...inside);
  }
  if (runs.length === 0) {
    throw new TptError('NOT_A_RUN_FOLDER', `no run folder among ${skipped.map((d) => `"${d}"`).join(', ')} (no config.json in them or their sub-folders)`, {
      hint: 'Pass folders written by `tpt run` (under its out_dir, `runs/` by default).',
    });
  }
  return [...new Set(runs)];
}

/**
 * Groups the rows by backbone, then dataset (in the registry's order: ImageNet, -A, -V2, -R, -Sketch, then the
 * ten cross-dataset sets), then method (the papers' row order), keeping the argument order within a group;
 * with one backbone, dataset and method (every seed sweep) the order is the arguments'.
 */
export function groupRows(rows: ReportRow[]): void {
  const backbones = [...new Set(rows.map((r) => r.backbone))];
  const order = [...TABLE1_DATASETS, ...TABLE2_DATASETS];
  const datasetRank = (r: ReportRow) => order.indexOf(datasetOf(r));
  rows.sort(
    (a, b) =>
      backbones.indexOf(a.backbone) - backbones.indexOf(b.backbone) || datasetRank(a) - datasetRank(b) || methodGroupRank(a.method) - methodGroupRank(b.method),
  );
}

export async function buildReport(args: readonly string[], options: ReportOptions = {}): Promise<ReportResult> {
  if (options.table1 && options.table2) {
    throw new TptError('BAD_REPORT_OPTIONS', '--table1 and --table2 cannot be combined', { hint: 'Run tpt report once per layout.' });
  }
  const skipped: string[] = [];
  const folders = await resolveRunFolders(args, skipped);
  const rows: ReportRow[] = [];
  for (const dir of folders) rows.push(runRow(await readRunFolder(dir)));
  groupRows(rows);
  const format = options.format ?? 'md';
  const text = options.table1
    ? (format === 'csv' ? formatTable1Csv : format === 'json' ? formatTable1Json : formatTable1Markdown)(buildTable1(rows))
    : options.table2
      ? formatTable2(buildTable2(rows), format)
      : formatReport(rows, format);
  const result: ReportResult = { rows, text, skipped };
  if (options.plot !== undefined) {
    const varying = varyingKeys(rows);
    const by = options.by ?? (varying.includes('overlap') ? 'overlap' : varying[0]);
    if (by === undefined) {
      throw new TptError('BAD_PLOT_KEY', 'nothing varies between these runs, so there is no axis to plot against', {
        hint: 'Pass runs of a sweep (e.g. scripts/sweep-overlap.sh), or name the axis with --by <config key>.',
      });
    }
    const data = plotData(rows, by);
    const size = await writePlotPng(data, options.plot);
    result.plot = { path: options.plot, by: data.by, ...size, lines: data.series.length };
  }
  return result;
}
