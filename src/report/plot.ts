/**
 * `tpt report --plot`: TPT top-1 against one config key (`--by`), one line per combination of the other
 * config keys that vary between the runs — the seed's overlap and naug/npatch grids of section 8.2 at a
 * glance. The chart is an SVG built here and rasterised to PNG by sharp (librsvg), so no plotting library
 * or browser is needed.
 */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { TptError } from '../errors.js';
import type { ReportRow } from './run-row.js';

/** Config keys that name places or machinery, never an experimental setting. */
const NOT_SETTINGS = new Set([
  'run_name',
  'out_dir',
  'imagenet_a_path',
  'dataset_path',
  'coop_weight_path',
  'clip_weights',
  'bpe_path',
  'device',
  'num_workers',
  'workers',
  'backend',
  'save',
  'save_imgs',
  'save_logits',
  'shard',
  'version',
  'tpt_version',
  'package_version',
]);

/** Short names users know from the seed's tables. */
const KEY_ALIASES: Record<string, string> = { naug: 'n_aug', npatch: 'n_patches' };

export function resolveConfigKey(key: string): string {
  return KEY_ALIASES[key] ?? key;
}

type Scalar = string | number | boolean | null;

function scalar(value: unknown): Scalar | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return undefined;
}

/** Setting keys (present as scalars) whose values differ between the rows, in config order. */
export function varyingKeys(rows: readonly ReportRow[]): string[] {
  const keys: string[] = [];
  for (const row of rows) for (const k of Object.keys(row.config)) if (!keys.includes(k)) keys.push(k);
  return keys.filter((k) => {
    if (NOT_SETTINGS.has(k)) return false;
    const values = new Set(rows.map((r) => JSON.stringify(scalar(r.config[k]) ?? null)));
    return values.size > 1;
  });
}

export interface PlotSeries {
  label: string;
  points: { x: number; label: string; y: number; finished: boolean }[];
}

export interface PlotData {
  by: string;
  /** Category names when the `--by` values are not all numbers; x is then the category's position. */
  categories: string[] | undefined;
  series: PlotSeries[];
}

function show(value: Scalar | undefined): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return String(value);
}

/** Groups the runs into lines: same values of every other varying key, x = the `--by` value. */
export function plotData(rows: readonly ReportRow[], byKey: string): PlotData {
  const by = resolveConfigKey(byKey);
  if (rows.length === 0) {
    throw new TptError('NOTHING_TO_PLOT', 'no runs to plot', { hint: 'Pass run folders, e.g. `tpt report runs/* --plot grid.png --by overlap`.' });
  }
  if (!rows.some((r) => by in r.config)) {
    throw new TptError('BAD_PLOT_KEY', `no run's config has the key "${byKey}"`, {
      hint: `Use a config key that varies between the runs${varyingKeys(rows).length ? `, e.g. ${varyingKeys(rows).join(', ')}` : ''}.`,
    });
  }
  const xs = rows.map((r) => scalar(r.config[by]) ?? null);
  const numeric = xs.every((x) => typeof x === 'number');
  const categories = numeric ? undefined : [...new Set(xs.map((x) => show(x)))];
  const others = varyingKeys(rows).filter((k) => k !== by);
  const groups = new Map<string, PlotSeries>();
  rows.forEach((row, i) => {
    const label = others.length ? others.map((k) => `${k}=${show(scalar(row.config[k]))}`).join(', ') : 'all runs';
    const x = xs[i] ?? null;
    const series = groups.get(label) ?? { label, points: [] };
    groups.set(label, series);
    series.points.push({
      x: numeric ? (x as number) : (categories as string[]).indexOf(show(x)),
      label: show(x),
      y: row.tpt_top1,
      finished: row.finished,
    });
  });
  for (const s of groups.values()) s.points.sort((a, b) => a.x - b.x);
  return { by, categories, series: [...groups.values()] };
}

/** About `count` round tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 0.1;
    return niceTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toFixed(12)));
  if ((ticks[0] as number) > lo) ticks.unshift(Number(((ticks[0] as number) - step).toFixed(12)));
  if ((ticks[ticks.length - 1] as number) < hi) ticks.push(Number(((ticks[ticks.length - 1] as number) + step).toFixed(12)));
  return ticks;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function tickLabel(value: number): string {
  return String(Number(value.toPrecision(6)));
}

export interface PlotOptions {
  width?: number;
  height?: number;
  title?: string;
}

/** The chart as an SVG document. */
export function plotSvg(data: PlotData, options: PlotOptions = {}): string {
  // the legend column grows with its longest label (about 7 px per character at 12 px)
  const longest = Math.max(14, ...data.series.map((s) => s.label.length));
  const legendWidth = Math.min(520, 50 + 7 * longest);
  const width = options.width ?? 640 + legendWidth;
  const height = options.height ?? 540;
  const margin = { left: 70, right: legendWidth + 20, top: 50, bottom: 60 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;

  const all = data.series.flatMap((s) => s.points);
  const ysFinite = all.map((p) => p.y).filter((y) => Number.isFinite(y));
  let yMin = Math.min(...(ysFinite.length ? ysFinite : [0]));
  let yMax = Math.max(...(ysFinite.length ? ysFinite : [1]));
  if (yMax - yMin < 1e-9) {
    // a flat line: show it in a small window that stays within accuracy's [0, 1]
    yMin = Math.max(0, yMin - 0.05);
    yMax = Math.min(1, yMax + 0.05);
  }
  const yTicks = niceTicks(yMin, yMax);
  // a little room beyond the outer ticks, so markers on them are not cut by the frame
  const ySpan = (yTicks[yTicks.length - 1] as number) - (yTicks[0] as number);
  const yLo = (yTicks[0] as number) - 0.03 * ySpan;
  const yHi = (yTicks[yTicks.length - 1] as number) + 0.03 * ySpan;
  let xTicks: number[];
  let xLo: number;
  let xHi: number;
  if (data.categories) {
    xTicks = data.categories.map((_, i) => i);
    xLo = -0.5;
    xHi = data.categories.length - 0.5;
  } else {
    const xs = all.map((p) => p.x);
    xTicks = niceTicks(Math.min(...xs), Math.max(...xs));
    const xSpan = (xTicks[xTicks.length - 1] as number) - (xTicks[0] as number);
    xLo = (xTicks[0] as number) - 0.03 * xSpan;
    xHi = (xTicks[xTicks.length - 1] as number) + 0.03 * xSpan;
  }
  const px = (x: number) => margin.left + ((x - xLo) / (xHi - xLo)) * plotW;
  const py = (y: number) => margin.top + plotH - ((y - yLo) / (yHi - yLo)) * plotH;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  const title = options.title ?? `TPT top-1 accuracy by ${data.by}`;
  parts.push(`<text x="${margin.left + plotW / 2}" y="28" font-size="18" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`);

  // grid, ticks and tick labels
  for (const t of yTicks) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#e6e6e6"/>`);
    parts.push(`<line x1="${margin.left - 5}" y1="${y}" x2="${margin.left}" y2="${y}" stroke="black"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${y}" font-size="12" text-anchor="end" dominant-baseline="middle">${tickLabel(t)}</text>`);
  }
  xTicks.forEach((t, i) => {
    const x = px(t).toFixed(1);
    const label = data.categories ? (data.categories[i] as string) : tickLabel(t);
    parts.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotH}" stroke="#f0f0f0"/>`);
    parts.push(`<line x1="${x}" y1="${margin.top + plotH}" x2="${x}" y2="${margin.top + plotH + 5}" stroke="black"/>`);
    parts.push(`<text x="${x}" y="${margin.top + plotH + 20}" font-size="12" text-anchor="middle">${escapeXml(label)}</text>`);
  });
  // axes and their titles
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="black"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 18}" font-size="14" text-anchor="middle">${escapeXml(data.by)}</text>`);
  parts.push(
    `<text x="18" y="${margin.top + plotH / 2}" font-size="14" text-anchor="middle" transform="rotate(-90 18 ${margin.top + plotH / 2})">TPT top-1 accuracy</text>`,
  );

  // one polyline per series; unfinished runs drawn as hollow markers
  data.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length] as string;
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    // categories (e.g. losses) have no order between them: markers only
    if (pts.length > 1 && !data.categories) {
      const d = pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    }
    for (const p of pts) {
      parts.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4.5" fill="${p.finished ? colour : 'white'}" stroke="${colour}" stroke-width="2"/>`,
      );
    }
  });

  // legend
  const lx = width - legendWidth;
  let ly = margin.top + 6;
  data.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length] as string;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<circle cx="${lx + 11}" cy="${ly}" r="4" fill="${colour}"/>`);
    parts.push(`<text x="${lx + 30}" y="${ly}" font-size="12" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
    ly += 20;
  });
  if (all.some((p) => !p.finished)) {
    parts.push(`<circle cx="${lx + 11}" cy="${ly}" r="4" fill="white" stroke="black" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 30}" y="${ly}" font-size="12" dominant-baseline="middle">unfinished run</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Renders the plot and writes it as a PNG; returns the image size. */
export async function writePlotPng(data: PlotData, outPath: string, options: PlotOptions = {}): Promise<{ width: number; height: number }> {
  const svg = plotSvg(data, options);
  const { data: png, info } = await sharp(Buffer.from(svg), { density: 72 }).flatten({ background: '#ffffff' }).png().toBuffer({ resolveWithObject: true });
  // Written by fs, not sharp's toFile: a missing folder or a read-only disk then has an errno code, and is the
  // user's one-line error rather than sharp's multi-line message printed as a bug.
  try {
    await writeFile(outPath, png);
  } catch (e) {
    throw new TptError('OUTPUT_WRITE', `cannot write the plot to ${outPath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: 'Check that the folder exists and is writable (--plot <out.png>).',
      cause: e,
    });
  }
  return { width: info.width, height: info.height };
}
