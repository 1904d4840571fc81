/**
 * The papers' benchmark layouts (`tpt report --table1`, `--table2`): one table per backbone, one row per
 * method (run-method.ts: from what each run recorded it ran), one column per test set of the benchmark in the
 * dataset registry's order and with its column label, then the average (and, for Table 1, the OOD average).
 *
 * Settings that differ between runs of one method (a loss, a view count) are added to the label, so two
 * variants never share a row. A cell is the run's TPT top-1 in percent (for an untuned run that is its base
 * top-1: tuning nothing leaves the prompt as it was). With columns missing, the averages are over the sets
 * present and marked.
 */
import { type DatasetName, datasetOfConfig, getDataset } from '../data/datasets/registry.js';
import { varyingKeys } from './plot.js';
import { methodGroupRank } from './run-method.js';
import type { ReportRow } from './run-row.js';

/** Keys that decide the method, the dataset or the backbone, or name places: never a row's variant. */
const NOT_A_VARIANT = new Set([
  'dataset', 'dataset_path', 'imagenet_a_path', 'split_file', 'tta_steps', 'coop_weight_path', 'ctx_init', 'arch', 'clip_weights', 'seed',
  'method', 'templates',
]);

export interface BenchmarkLayout {
  /** "Table 1" or "Table 2". */
  readonly name: string;
  readonly datasets: readonly DatasetName[];
  /** Table 1's second average, over the out-of-distribution sets (registry `ood`). */
  readonly oodAverage: boolean;
}

export interface BenchmarkCell {
  /** TPT top-1, percent. */
  readonly top1: number;
  readonly run: string;
  readonly samples: number;
  readonly finished: boolean;
}

export interface BenchmarkRow {
  /** The method group (zero-shot, CoOp, TPT, C-TPT, …). */
  readonly method: string;
  readonly label: string;
  readonly cells: ReadonlyMap<DatasetName, BenchmarkCell>;
  readonly average: number;
  readonly oodAverage: number;
  readonly averageComplete: boolean;
  readonly oodComplete: boolean;
}

export interface BenchmarkTable {
  readonly backbone: string;
  readonly rows: readonly BenchmarkRow[];
  /** Cells that more than one run could fill (the one with the most samples is shown). */
  readonly duplicates: number;
}

export function datasetOf(row: Pick<ReportRow, 'config'>): DatasetName {
  return datasetOfConfig(row.config);
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

function settingText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

/** Groups the runs of the layout's sets into one table per backbone (in order of first appearance). */
export function buildBenchmarkTables(allRows: readonly ReportRow[], layout: BenchmarkLayout): BenchmarkTable[] {
  const rows = allRows.filter((r) => layout.datasets.includes(datasetOf(r)));
  const backbones = [...new Set(rows.map((r) => r.backbone))];
  return backbones.map((backbone) => {
    const runs = rows.filter((r) => r.backbone === backbone);
    const variantOf = new Map<ReportRow, string>();
    for (const method of new Set(runs.map((r) => r.method))) {
      const group = runs.filter((r) => r.method === method);
      const keys = varyingKeys(group).filter((k) => !NOT_A_VARIANT.has(k));
      for (const r of group) variantOf.set(r, keys.map((k) => `${k}=${settingText(r.config[k])}`).join(', '));
    }
    const byLabel = new Map<string, { method: string; cells: Map<DatasetName, BenchmarkCell> }>();
    let duplicates = 0;
    for (const r of runs) {
      const variant = variantOf.get(r) ?? '';
      const label = r.method_label + (variant ? `, ${variant}` : '');
      const entry = byLabel.get(label) ?? { method: r.method, cells: new Map<DatasetName, BenchmarkCell>() };
      byLabel.set(label, entry);
      const dataset = datasetOf(r);
      const cell: BenchmarkCell = { top1: r.tpt_top1 * 100, run: r.run, samples: r.samples, finished: r.finished };
      const earlier = entry.cells.get(dataset);
      if (earlier !== undefined) duplicates++;
      if (earlier === undefined || cell.samples > earlier.samples) entry.cells.set(dataset, cell);
    }
    const oodSets = layout.datasets.filter((d) => getDataset(d).ood);
    const tableRows: BenchmarkRow[] = [...byLabel]
      .map(([label, { method, cells }]) => {
        const present = layout.datasets.filter((d) => cells.has(d));
        const ood = present.filter((d) => getDataset(d).ood);
        const top1 = (d: DatasetName) => (cells.get(d) as BenchmarkCell).top1;
        return {
          method,
          label,
          cells,
          average: mean(present.map(top1)),
          oodAverage: mean(ood.map(top1)),
          averageComplete: present.length === layout.datasets.length,
          oodComplete: ood.length === oodSets.length,
        };
      })
      .sort((a, b) => methodGroupRank(a.method) - methodGroupRank(b.method) || a.label.localeCompare(b.label));
    return { backbone, rows: tableRows, duplicates };
  });
}

const MISSING = '—';
/** Marks an average taken over only the datasets present. */
const PARTIAL = '†';

function percent(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : MISSING;
}

function cellText(cell: BenchmarkCell | undefined): string {
  if (cell === undefined) return MISSING;
  return `${percent(cell.top1)}${cell.finished ? '' : '*'}`;
}

function columnLabel(d: DatasetName): string {
  return getDataset(d).column;
}

/** Markdown, one table per backbone, in the papers' number style (top-1 in percent, two decimals). */
export function formatBenchmarkMarkdown(tables: readonly BenchmarkTable[], layout: BenchmarkLayout): string {
  const header = ['method', ...layout.datasets.map(columnLabel), 'Average', ...(layout.oodAverage ? ['OOD Average'] : [])];
  const out: string[] = [];
  if (tables.length === 0) return `${layout.name} layout: no runs on its test sets (${layout.datasets.join(', ')}).\n`;
  for (const table of tables) {
    const average = (value: number, complete: boolean) => percent(value) + (complete || !Number.isFinite(value) ? '' : PARTIAL);
    const cells = table.rows.map((r) => [
      r.label,
      ...layout.datasets.map((d) => cellText(r.cells.get(d))),
      average(r.average, r.averageComplete),
      ...(layout.oodAverage ? [average(r.oodAverage, r.oodComplete)] : []),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, 3, ...cells.map((c) => (c[i] as string).length)));
    const pad = (text: string, i: number) => (i === 0 ? text.padEnd(widths[i] as number) : text.padStart(widths[i] as number));
    if (out.length > 0) out.push('');
    out.push(`${layout.name} layout, backbone ${table.backbone || MISSING}: top-1 accuracy (%)`, '');
    out.push(`| ${header.map(pad).join(' | ')} |`);
    out.push(`| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
    for (const row of cells) out.push(`| ${row.map(pad).join(' | ')} |`);
    const notes: string[] = [];
    if (table.rows.some((r) => [...r.cells.values()].some((c) => !c.finished))) notes.push('* unfinished run: the samples finished so far.');
    if (table.rows.some((r) => !r.averageComplete || (layout.oodAverage && !r.oodComplete))) {
      const ood = layout.oodAverage ? ` (OOD: ${layout.datasets.filter((d) => getDataset(d).ood).map(columnLabel).join(', ')})` : '';
      notes.push(`${PARTIAL} over the datasets present only${ood}.`);
    }
    if (table.duplicates > 0) notes.push(`${table.duplicates} cell(s) had more than one run; the one with the most samples is shown.`);
    if (notes.length > 0) out.push('', ...notes);
  }
  return out.join('\n') + '\n';
}

/** JSON: the same tables, one object per row, cells keyed by dataset name (null where there is no run). */
export function formatBenchmarkJson(tables: readonly BenchmarkTable[], layout: BenchmarkLayout): string {
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  const json = tables.map((t) => ({
    backbone: t.backbone,
    rows: t.rows.map((r) => ({
      method: r.method,
      label: r.label,
      top1: Object.fromEntries(layout.datasets.map((d) => [d, r.cells.has(d) ? finite((r.cells.get(d) as BenchmarkCell).top1) : null])),
      runs: Object.fromEntries(layout.datasets.filter((d) => r.cells.has(d)).map((d) => [d, (r.cells.get(d) as BenchmarkCell).run])),
      average: finite(r.average),
      average_complete: r.averageComplete,
      ...(layout.oodAverage ? { ood_average: finite(r.oodAverage), ood_average_complete: r.oodComplete } : {}),
    })),
  }));
  return JSON.stringify(json, null, 2) + '\n';
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV: one line per (backbone, method row), top-1 in percent. */
export function formatBenchmarkCsv(tables: readonly BenchmarkTable[], layout: BenchmarkLayout): string {
  const lines = [['backbone', 'method', 'label', ...layout.datasets, 'average', ...(layout.oodAverage ? ['ood_average'] : [])].join(',')];
  const num = (v: number) => (Number.isFinite(v) ? String(v) : '');
  for (const t of tables) {
    for (const r of t.rows) {
      const cells = layout.datasets.map((d) => (r.cells.has(d) ? num((r.cells.get(d) as BenchmarkCell).top1) : ''));
      lines.push([t.backbone, r.method, r.label].map(csvField).concat(cells, [num(r.average)], layout.oodAverage ? [num(r.oodAverage)] : []).join(','));
    }
  }
  return lines.join('\n') + '\n';
}
