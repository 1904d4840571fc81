/**
 * Renders report rows as a Markdown table (the default, in the seed's column order and number style:
 * accuracies as fractions with four decimals, overlap as Python prints floats), CSV, or JSON.
 */
import type { ReportRow } from './run-row.js';

export const REPORT_FORMATS = ['md', 'csv', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

interface Column {
  header: string;
  /** CSV/JSON field name. */
  key: keyof ReportRow;
  /** Right-align in Markdown (numbers). */
  numeric: boolean;
  format: (row: ReportRow) => string;
}

const MISSING = '—';

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : MISSING;
}

/** Python's float repr for the short values configs hold (0.0, 0.8, 0.25). */
export function pythonFloat(value: number | null): string {
  if (value === null) return MISSING;
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

function plain(value: number | boolean | string | null): string {
  return value === null ? MISSING : String(value);
}

function secondsPerSample(value: number): string {
  if (!Number.isFinite(value)) return MISSING;
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Shown first, and only when the runs span more than one dataset, backbone or method (`tpt report` groups by them). */
const GROUP_COLUMNS: readonly Column[] = [
  { header: 'backbone', key: 'backbone', numeric: false, format: (r) => r.backbone || MISSING },
  { header: 'dataset', key: 'dataset', numeric: false, format: (r) => r.dataset || MISSING },
  { header: 'method', key: 'method_label', numeric: false, format: (r) => r.method_label || MISSING },
];

const BASE_COLUMNS: readonly Column[] = [
  { header: 'augmenter', key: 'augmenter', numeric: false, format: (r) => r.augmenter || MISSING },
  { header: 'loss', key: 'loss', numeric: false, format: (r) => r.loss || MISSING },
  { header: 'naug', key: 'naug', numeric: true, format: (r) => plain(r.naug) },
  { header: 'npatch', key: 'npatch', numeric: true, format: (r) => plain(r.npatch) },
  { header: 'overlap', key: 'overlap', numeric: true, format: (r) => pythonFloat(r.overlap) },
  { header: 'augmix', key: 'augmix', numeric: false, format: (r) => plain(r.augmix) },
  { header: 'base top-1', key: 'base_top1', numeric: true, format: (r) => fixed(r.base_top1, 4) },
  { header: 'base top-5', key: 'base_top5', numeric: true, format: (r) => fixed(r.base_top5, 4) },
  { header: 'TPT top-1', key: 'tpt_top1', numeric: true, format: (r) => fixed(r.tpt_top1, 4) },
  { header: 'TPT top-5', key: 'tpt_top5', numeric: true, format: (r) => fixed(r.tpt_top5, 4) },
  { header: 'improved', key: 'improved', numeric: true, format: (r) => String(r.improved) },
  { header: 'worsened', key: 'worsened', numeric: true, format: (r) => String(r.worsened) },
  { header: 'ECE base', key: 'ece_base', numeric: true, format: (r) => fixed(r.ece_base, 4) },
  { header: 'ECE TPT', key: 'ece_tpt', numeric: true, format: (r) => fixed(r.ece_tpt, 4) },
  { header: 'samples', key: 'samples', numeric: true, format: (r) => (r.finished ? String(r.samples) : `${r.samples} (unfinished)`) },
  { header: 's/sample', key: 'seconds_per_sample', numeric: true, format: (r) => secondsPerSample(r.seconds_per_sample) },
  // the folder's name in full: a shortened name would match no folder
  { header: 'run', key: 'run', numeric: false, format: (r) => r.run },
];

function escapeMarkdownCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function formatMarkdown(rows: readonly ReportRow[]): string {
  const grouped = GROUP_COLUMNS.filter((g) => new Set(rows.map((r) => r[g.key])).size > 1).length > 0;
  const COLUMNS = grouped ? [...GROUP_COLUMNS, ...BASE_COLUMNS] : BASE_COLUMNS;
  const cells = rows.map((r) => COLUMNS.map((c) => escapeMarkdownCell(c.format(r))));
  const widths = COLUMNS.map((c, i) => Math.max(c.header.length, 3, ...cells.map((row) => (row[i] as string).length)));
  const pad = (text: string, i: number) => {
    const w = widths[i] as number;
    return (COLUMNS[i] as Column).numeric ? text.padStart(w) : text.padEnd(w);
  };
  const lines = [
    `| ${COLUMNS.map((c, i) => pad(c.header, i)).join(' | ')} |`,
    `| ${COLUMNS.map((c, i) => (c.numeric ? '-'.repeat((widths[i] as number) - 1) + ':' : '-'.repeat(widths[i] as number))).join(' | ')} |`,
    ...cells.map((row) => `| ${row.map((text, i) => pad(text, i)).join(' | ')} |`),
  ];
  const unfinished = rows.filter((r) => !r.finished).length;
  if (unfinished > 0) {
    lines.push('', `${unfinished} unfinished run${unfinished === 1 ? '' : 's'}: figures cover the samples finished so far.`);
  }
  return lines.join('\n') + '\n';
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvValue(row: ReportRow, key: keyof ReportRow): string {
  const v = row[key];
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'object') return '';
  return String(v);
}

const CSV_KEYS: readonly (keyof ReportRow)[] = [
  ...BASE_COLUMNS.filter((c) => c.key !== 'run').map((c) => c.key),
  'finished',
  'dataset',
  'backbone',
  'method',
  'method_label',
  'run',
  'dir',
];

export function formatCsv(rows: readonly ReportRow[]): string {
  const lines = [CSV_KEYS.join(',')];
  for (const row of rows) lines.push(CSV_KEYS.map((k) => csvField(csvValue(row, k))).join(','));
  return lines.join('\n') + '\n';
}

/** JSON: one object per run with the same fields as the CSV, non-finite numbers as null, plus the config. */
export function formatJson(rows: readonly ReportRow[]): string {
  const out = rows.map((row) => {
    const obj: Record<string, unknown> = {};
    for (const k of CSV_KEYS) {
      const v = row[k];
      obj[k] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
    }
    obj.config = row.config;
    return obj;
  });
  return JSON.stringify(out, null, 2) + '\n';
}

export function formatReport(rows: readonly ReportRow[], format: ReportFormat): string {
  if (format === 'csv') return formatCsv(rows);
  if (format === 'json') return formatJson(rows);
  return formatMarkdown(rows);
}
