/**
 * `tpt report --table1`: the TPT paper's Table 1 layout ("natural distribution shifts"): one table per
 * backbone, rows are methods, columns are the five test sets, then the average and the OOD average.
 *
 * Nothing here is told which run is which: the method comes from each run's config.
 *   - CoOp or not: `coop_weight_path` set (a CoOp context) or empty (the context from `ctx_init`);
 *   - tuned or not: `tta_steps` > 0 (TPT) or 0 (the initial prompt scored as it is).
 * So zero-shot = neither, CoOp = CoOp file and no tuning, TPT = tuning from `ctx_init`, CoOp + TPT = both.
 * The hand prompt is named in the label ("a photo of a"); settings that differ between runs of one method
 * (a loss, a view count) are added to the label, so two variants never share a row. The backbone is the
 * summary's `arch` when it has one, else the config's; the dataset is the config's `dataset` (ImageNet-A
 * for runs written before the key existed).
 *
 * A cell is the run's TPT top-1 in percent (for an untuned run that is its base top-1: tuning nothing
 * leaves the prompt as it was). Average: over the five datasets; OOD average: over A, V2, R and Sketch
 * (ImageNet is the in-distribution one). With columns missing, both are over the datasets present and
 * marked.
 */
import { benchmarkDatasets, type DatasetName, datasetOfConfig, getDataset } from '../data/datasets/registry.js';
import { varyingKeys } from './plot.js';
import type { ReportRow } from './run-row.js';

/** The paper's column order. */
export const TABLE1_DATASETS: readonly DatasetName[] = benchmarkDatasets('natural-shift').map((s) => s.name);

/** The paper's row order (CLIP, CoOp, TPT, TPT + CoOp). */
export const TABLE1_METHODS = ['zero-shot', 'CoOp', 'TPT', 'CoOp + TPT'] as const;
export type Table1Method = (typeof TABLE1_METHODS)[number];

/** Keys that decide the method, the dataset or the backbone, or name places: never a row's variant. */
const NOT_A_VARIANT = new Set(['dataset', 'dataset_path', 'tta_steps', 'coop_weight_path', 'ctx_init', 'arch', 'clip_weights', 'seed']);

export interface Table1Cell {
  /** TPT top-1, percent. */
  readonly top1: number;
  readonly run: string;
  readonly samples: number;
  readonly finished: boolean;
}

export interface Table1Row {
  readonly method: Table1Method;
  readonly label: string;
  readonly cells: ReadonlyMap<DatasetName, Table1Cell>;
  readonly average: number;
  readonly oodAverage: number;
  /** Whether every dataset (for `average`) and every OOD dataset (for `oodAverage`) has a cell. */
  readonly averageComplete: boolean;
  readonly oodComplete: boolean;
}

export interface Table1 {
  readonly backbone: string;
  readonly rows: readonly Table1Row[];
  /** Cells that more than one run could fill (the one with the most samples is shown). */
  readonly duplicates: number;
}

function configString(config: Record<string, unknown>, key: string): string {
  const v = config[key];
  return typeof v === 'string' ? v : '';
}

/** The method of a run, from its config. */
export function methodOf(config: Record<string, unknown>): Table1Method {
  const coop = configString(config, 'coop_weight_path') !== '';
  const steps = typeof config.tta_steps === 'number' ? config.tta_steps : 1; // the schema's default
  const tuned = steps > 0;
  return coop ? (tuned ? 'CoOp + TPT' : 'CoOp') : tuned ? 'TPT' : 'zero-shot';
}

function methodLabel(method: Table1Method, config: Record<string, unknown>): string {
  if (method === 'CoOp' || method === 'CoOp + TPT') return method;
  const init = configString(config, 'ctx_init').replaceAll('_', ' ');
  return `${method} (${init === '' ? 'random context' : `"${init}"`})`;
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

/** Groups the runs into one Table 1 per backbone (in order of first appearance). */
export function buildTable1(rows: readonly ReportRow[]): Table1[] {
  const backbones = [...new Set(rows.map((r) => r.backbone))];
  return backbones.map((backbone) => {
    const runs = rows.filter((r) => r.backbone === backbone);
    // Settings that differ within one method name the variant (e.g. two TPT losses side by side).
    const variantOf = new Map<ReportRow, string>();
    for (const method of TABLE1_METHODS) {
      const group = runs.filter((r) => methodOf(r.config) === method);
      const keys = varyingKeys(group).filter((k) => !NOT_A_VARIANT.has(k));
      for (const r of group) variantOf.set(r, keys.map((k) => `${k}=${settingText(r.config[k])}`).join(', '));
    }
    const byLabel = new Map<string, { method: Table1Method; cells: Map<DatasetName, Table1Cell> }>();
    let duplicates = 0;
    for (const r of runs) {
      const method = methodOf(r.config);
      const variant = variantOf.get(r) ?? '';
      const label = methodLabel(method, r.config) + (variant ? `, ${variant}` : '');
      const entry = byLabel.get(label) ?? { method, cells: new Map<DatasetName, Table1Cell>() };
      byLabel.set(label, entry);
      const dataset = datasetOf(r);
      const cell: Table1Cell = { top1: r.tpt_top1 * 100, run: r.run, samples: r.samples, finished: r.finished };
      const earlier = entry.cells.get(dataset);
      if (earlier !== undefined) duplicates++;
      if (earlier === undefined || cell.samples > earlier.samples) entry.cells.set(dataset, cell);
    }
    const tableRows: Table1Row[] = [...byLabel]
      .map(([label, { method, cells }]) => {
        const present = TABLE1_DATASETS.filter((d) => cells.has(d));
        const ood = present.filter((d) => getDataset(d).ood);
        const top1 = (d: DatasetName) => (cells.get(d) as Table1Cell).top1;
        return {
          method,
          label,
          cells,
          average: mean(present.map(top1)),
          oodAverage: mean(ood.map(top1)),
          averageComplete: present.length === TABLE1_DATASETS.length,
          oodComplete: ood.length === TABLE1_DATASETS.filter((d) => getDataset(d).ood).length,
        };
      })
      .sort((a, b) => TABLE1_METHODS.indexOf(a.method) - TABLE1_METHODS.indexOf(b.method) || a.label.localeCompare(b.label));
    return { backbone, rows: tableRows, duplicates };
  });
}

const MISSING = '—';
/** Marks an average taken over only the datasets present. */
const PARTIAL = '†';

function percent(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : MISSING;
}

function cellText(cell: Table1Cell | undefined): string {
  if (cell === undefined) return MISSING;
  return `${percent(cell.top1)}${cell.finished ? '' : '*'}`;
}

/** Markdown, one table per backbone, in the paper's number style (top-1 in percent, two decimals). */
export function formatTable1Markdown(tables: readonly Table1[]): string {
  const header = ['method', ...TABLE1_DATASETS.map((d) => getDataset(d).title), 'Average', 'OOD Average'];
  const out: string[] = [];
  for (const table of tables) {
    const cells = table.rows.map((r) => [
      r.label,
      ...TABLE1_DATASETS.map((d) => cellText(r.cells.get(d))),
      percent(r.average) + (r.averageComplete || !Number.isFinite(r.average) ? '' : PARTIAL),
      percent(r.oodAverage) + (r.oodComplete || !Number.isFinite(r.oodAverage) ? '' : PARTIAL),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, 3, ...cells.map((c) => (c[i] as string).length)));
    const pad = (text: string, i: number) => (i === 0 ? text.padEnd(widths[i] as number) : text.padStart(widths[i] as number));
    if (out.length > 0) out.push('');
    out.push(`Table 1 layout, backbone ${table.backbone || MISSING}: top-1 accuracy (%)`, '');
    out.push(`| ${header.map(pad).join(' | ')} |`);
    out.push(`| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
    for (const row of cells) out.push(`| ${row.map(pad).join(' | ')} |`);
    const notes: string[] = [];
    if (table.rows.some((r) => [...r.cells.values()].some((c) => !c.finished))) notes.push('* unfinished run: the samples finished so far.');
    if (table.rows.some((r) => !r.averageComplete || !r.oodComplete)) notes.push(`${PARTIAL} over the datasets present only (OOD: ImageNet-A, -V2, -R, -Sketch).`);
    if (table.duplicates > 0) notes.push(`${table.duplicates} cell(s) had more than one run; the one with the most samples is shown.`);
    if (notes.length > 0) out.push('', ...notes);
  }
  return out.join('\n') + '\n';
}

/** JSON: the same tables, one object per row, cells keyed by dataset name (null where there is no run). */
export function formatTable1Json(tables: readonly Table1[]): string {
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  const json = tables.map((t) => ({
    backbone: t.backbone,
    rows: t.rows.map((r) => ({
      method: r.method,
      label: r.label,
      top1: Object.fromEntries(TABLE1_DATASETS.map((d) => [d, r.cells.has(d) ? finite((r.cells.get(d) as Table1Cell).top1) : null])),
      runs: Object.fromEntries(TABLE1_DATASETS.filter((d) => r.cells.has(d)).map((d) => [d, (r.cells.get(d) as Table1Cell).run])),
      average: finite(r.average),
      ood_average: finite(r.oodAverage),
      average_complete: r.averageComplete,
      ood_average_complete: r.oodComplete,
    })),
  }));
  return JSON.stringify(json, null, 2) + '\n';
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV: one line per (backbone, method row), top-1 in percent. */
export function formatTable1Csv(tables: readonly Table1[]): string {
  const lines = [['backbone', 'method', 'label', ...TABLE1_DATASETS, 'average', 'ood_average'].join(',')];
  const num = (v: number) => (Number.isFinite(v) ? String(v) : '');
  for (const t of tables) {
    for (const r of t.rows) {
      const cells = TABLE1_DATASETS.map((d) => (r.cells.has(d) ? num((r.cells.get(d) as Table1Cell).top1) : ''));
      lines.push([t.backbone, r.method, r.label].map(csvField).concat(cells, [num(r.average), num(r.oodAverage)]).join(','));
    }
  }
  return lines.join('\n') + '\n';
}
