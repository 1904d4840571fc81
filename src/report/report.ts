/**
 * `tpt report`: run folders (or globs, or folders of runs) in, one table out, optionally a plot.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TptError } from '../errors.js';
import { formatReport } from './format-table.js';
import type { ReportFormat } from './format-table.js';
import { expandDirectoryArgs } from './glob.js';
import { plotData, varyingKeys, writePlotPng } from './plot.js';
import { isRunFolder, readRunFolder } from './run-folder.js';
import { runRow } from './run-row.js';
import type { ReportRow } from './run-row.js';
import { buildTable1, datasetOf, formatTable1Csv, formatTable1Json, formatTable1Markdown, TABLE1_DATASETS } from './table1.js';

export interface ReportOptions {
  format?: ReportFormat;
  /** Write a PNG of TPT top-1 against `by` here. */
  plot?: string;
  /** The config key on the plot's x axis (default: `overlap` if it varies, else the first varying key). */
  by?: string;
  /** The TPT paper's Table 1 layout (methods × datasets, per backbone) instead of one row per run. */
  table1?: boolean;
}

export interface ReportResult {
  rows: ReportRow[];
  text: string;
  plot?: { path: string; by: string; width: number; height: number; lines: number };
}

/**
 * The run folders named by the arguments: each argument is a run folder, a glob, or a folder of run folders
 * (`tpt report runs`), in argument order.
 */
export async function resolveRunFolders(args: readonly string[]): Promise<string[]> {
  if (args.length === 0) {
    throw new TptError('NO_RUNS', 'no run folders given', { hint: "Pass run folders or globs, e.g. `tpt report 'runs/*'`." });
  }
  const dirs = await expandDirectoryArgs(args);
  const runs: string[] = [];
  for (const dir of dirs) {
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
    if (inside.length === 0) {
      throw new TptError('NOT_A_RUN_FOLDER', `"${dir}" is neither a run folder nor a folder of runs (no config.json in it or its sub-folders)`, {
        hint: 'Pass folders written by `tpt run` (under its out_dir, `runs/` by default).',
      });
    }
    runs.push(...inside);
  }
  return [...new Set(runs)];
}

/**
 * Groups the rows by backbone, then dataset (in Table 1's order: ImageNet, -A, -V2, -R, -Sketch), keeping the argument order within a
 * group; with one backbone and one dataset (every seed sweep) the order is the arguments'.
 */
export function groupRows(rows: ReportRow[]): void {
  const backbones = [...new Set(rows.map((r) => r.backbone))];
  const datasetRank = (r: ReportRow) => TABLE1_DATASETS.indexOf(datasetOf(r));
  rows.sort((a, b) => backbones.indexOf(a.backbone) - backbones.indexOf(b.backbone) || datasetRank(a) - datasetRank(b));
}

export async function buildReport(args: readonly string[], options: ReportOptions = {}): Promise<ReportResult> {
  const folders = await resolveRunFolders(args);
  const rows: ReportRow[] = [];
  for (const dir of folders) rows.push(runRow(await readRunFolder(dir)));
  groupRows(rows);
  const format = options.format ?? 'md';
  const text = options.table1
    ? (format === 'csv' ? formatTable1Csv : format === 'json' ? formatTable1Json : formatTable1Markdown)(buildTable1(rows))
    : formatReport(rows, format);
  const result: ReportResult = { rows, text };
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
