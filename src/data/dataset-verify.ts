/**
 * `tpt dataset verify`: everything `scanDataset` finds, plus (optionally) a decode check of every image, as
 * one report. Undecodable images are warnings: at run time they are skipped and counted, never fatal.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { isTptError } from '../errors.js';
import { type ClassCount, type DatasetProblem, type ProblemKind, scanDataset } from './dataset.js';
import { type DatasetName, DEFAULT_DATASET, getDataset } from './datasets/registry.js';
import { decodeImage } from './image.js';

/**
 * `none`: list files only. `header`: read each image's header (cheap; finds non-images and wrong formats).
 * `full`: decode every image exactly as a run does (finds truncated or corrupt data too).
 */
export const DECODE_CHECKS = ['none', 'header', 'full'] as const;
export type DecodeCheck = (typeof DECODE_CHECKS)[number];

export interface VerifyOptions {
  /** Registry name; default: the registry's default dataset. */
  readonly dataset?: DatasetName;
  readonly allowPartial?: boolean;
  /** Split-file sets: the split file (config `split_file`); null or undefined: looked up in the dataset folder. */
  readonly splitFile?: string | null;
  readonly decode?: DecodeCheck;
  /** Images decoded at once (libvips works off the main thread). */
  readonly concurrency?: number;
  /** Called after each decode check with the number done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Images too small for this many patches (floor(√n) pixels a side) are reported; default 16. */
  readonly nPatches?: number;
}

export interface VerifyReport {
  readonly root: string;
  readonly dataset: DatasetName;
  /** Images in the published dataset, to compare `totalImages` with. */
  readonly expectedImages: number;
  /** Split-file sets: the split file read (null when none was, or for a folder-tree set). */
  readonly splitFile: string | null;
  /** Classes of the dataset (its class folders when complete). */
  readonly classesTotal: number;
  readonly usable: boolean;
  readonly allowPartial: boolean;
  readonly decodeCheck: DecodeCheck;
  /** Valid image files found (undecodable ones included). */
  readonly totalImages: number;
  readonly undecodableImages: number;
  readonly classesPresent: number;
  /** One entry per class in label order (empty when the folder is not the dataset at all). */
  readonly classes: readonly ClassCount[];
  readonly problems: readonly DatasetProblem[];
}

/** The patches of the seed's PatchAugmenter configs (configs/*.json): a 4×4 grid needs 4 pixels a side. */
export const DEFAULT_VERIFY_N_PATCHES = 16;

/** Text output lists this many problems of each kind; `--json` keeps them all. */
const FIRST_FEW = 5;

type ImageCheck = { failure: string } | { width: number; height: number } | undefined;

async function checkImage(path: string, mode: DecodeCheck): Promise<ImageCheck> {
  try {
    if (mode === 'header') {
      const meta = await sharp(path).metadata();
      if (!meta.width || !meta.height) return { failure: 'no image size in its header' };
      return { width: meta.width, height: meta.height };
    } else if (mode === 'full') {
      const image = await decodeImage(path);
      return { width: image.width, height: image.height };
    }
    return undefined;
  } catch (e) {
    return { failure: ((e as Error).message ?? String(e)).split('\n')[0]! };
  }
}

/** Runs `task` over `items` with at most `limit` in flight, keeping results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>, onDone: () => void): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T);
      onDone();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** The problem kind of a folder a scan refused outright. */
function unusableKind(code: string, dataset: DatasetName): ProblemKind {
  if (code === 'DATASET_NOT_FOUND') return 'not_found';
  if (code === 'DATASET_SPLIT_NOT_FOUND') return 'split_not_found';
  if (code === 'DATASET_SPLIT_FOREIGN') return 'foreign_split';
  // What reports of the seed's dataset always said.
  return dataset === DEFAULT_DATASET ? 'not_imagenet_a' : 'not_dataset';
}

/**
 * Checks a dataset folder and reports images per class and every problem. Never throws for a problem in
 * the folder (a missing or foreign folder becomes an unusable report); `usable` is false when a run would
 * refuse the folder.
 */
export async function verifyDataset(root: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const spec = getDataset(options.dataset ?? DEFAULT_DATASET);
  const about = { dataset: spec.name, expectedImages: spec.expectedImages, classesTotal: spec.classes.length };
  const allowPartial = options.allowPartial ?? false;
  const decodeCheck = options.decode ?? 'full';
  let dataset;
  try {
    dataset = await scanDataset(root, { allowPartial, dataset: spec.name, splitFile: options.splitFile ?? null });
  } catch (e) {
    if (!isTptError(e)) throw e;
    const problem: DatasetProblem = {
      kind: unusableKind(e.code, spec.name),
      severity: 'error',
      path: '.',
      message: e.hint ? `${e.message} (${e.hint})` : e.message,
    };
    return { root, ...about, splitFile: null, usable: false, allowPartial, decodeCheck, totalImages: 0, undecodableImages: 0, classesPresent: 0, classes: [], problems: [problem] };
  }
  const problems = [...dataset.problems];
  let undecodable = 0;
  if (decodeCheck !== 'none') {
    let done = 0;
    const total = dataset.samples.length;
    const checks = await mapLimited(
      dataset.samples,
      options.concurrency ?? 4,
      (s) => checkImage(join(dataset.imageRoot, s.file), decodeCheck),
      () => options.onProgress?.(++done, total),
    );
    // cropPatchesWithOverlap's rule: a side shorter than the grid leaves an empty patch (IMAGE_TOO_SMALL)
    const grid = Math.floor(Math.sqrt(options.nPatches ?? DEFAULT_VERIFY_N_PATCHES));
    checks.forEach((check, i) => {
      if (check === undefined) return;
      const file = (dataset.samples[i] as { file: string }).file;
      if ('failure' in check) {
        undecodable++;
        problems.push({
          kind: 'undecodable_image',
          severity: 'warning',
          path: file,
          message: `${file} cannot be decoded (${check.failure}); a run skips it and counts it`,
        });
      } else if (grid > 1 && Math.min(check.width, check.height) < grid) {
        problems.push({
          kind: 'small_image',
          severity: 'warning',
          path: file,
          message: `${file} is ${check.width}×${check.height} pixels, too small for a ${grid}×${grid} patch grid (n_patches ${grid * grid}); a PatchAugmenter run skips it and counts it`,
        });
      }
    });
  }
  return {
    root,
    ...about,
    splitFile: dataset.splitFile ?? null,
    usable: !problems.some((p) => p.severity === 'error'),
    allowPartial,
    decodeCheck,
    totalImages: dataset.samples.length,
    undecodableImages: undecodable,
    classesPresent: dataset.classes.filter((c) => c.present).length,
    classes: dataset.classes,
    problems,
  };
}

/** The report as text: a per-class table, then every problem, then the verdict. */
export function formatVerifyReport(report: VerifyReport): string {
  const spec = getDataset(report.dataset);
  const lines: string[] = [`${spec.title} folder: ${report.root}`];
  if (report.splitFile !== null) lines.push(`split file: ${report.splitFile}`);
  if (report.classes.length > 0) {
    // A partial folder lists its present classes; the missing ones are counted among the errors.
    const present = report.classes.filter((c) => c.present);
    const shown = present.length * 2 >= report.classes.length ? report.classes : present;
    // The ImageNet sets show each class's WordNet id; the others have none.
    const wnids = report.classes.some((c) => c.wnid !== undefined);
    lines.push('', wnids ? 'label  wnid       images  class' : 'label  images  class');
    for (const c of shown) {
      const images = c.present ? String(c.images) : '-';
      lines.push(`${String(c.label).padStart(5)}  ${wnids ? `${c.wnid ?? ''}  ` : ''}${images.padStart(6)}  ${c.name}`);
    }
    const listed = spec.listing.kind === 'folder-tree' ? 'class folders' : 'classes of the split';
    if (shown.length < report.classes.length) lines.push(`(${report.classes.length - shown.length} ${listed} not present are not listed)`);
    lines.push(
      '',
      `${report.totalImages} images in ${report.classesPresent} of ${report.classesTotal} ${listed}` +
        (report.decodeCheck === 'none' ? ' (not decoded)' : `; ${report.undecodableImages} cannot be decoded (${report.decodeCheck} check)`),
      `The published ${spec.title} has ${report.expectedImages.toLocaleString('en-US')} images in ${report.classesTotal} classes` +
        (report.totalImages === report.expectedImages ? ' (the count matches).' : '.'),
    );
  }
  const errors = report.problems.filter((p) => p.severity === 'error');
  const warnings = report.problems.filter((p) => p.severity === 'warning');
  if (errors.length > 0) lines.push('', `Errors (${errors.length}):`, ...firstFewOfEachKind(errors));
  if (warnings.length > 0) lines.push('', `Warnings (${warnings.length}):`, ...firstFewOfEachKind(warnings));
  lines.push(
    '',
    report.usable
      ? `Usable${report.allowPartial && report.classesPresent < report.classesTotal ? ' (partial: allow_partial_dataset must be true)' : ''}.`
      : 'NOT usable: fix the errors above' + (errors.every((p) => p.kind === 'missing_class' || p.kind === 'empty_class' || p.kind === 'missing_image') ? ' or pass --allow-partial.' : '.'),
  );
  return lines.join('\n');
}

/** The problems grouped by kind, the first few of each listed and the rest counted (`--json` has all). */
function firstFewOfEachKind(problems: readonly DatasetProblem[]): string[] {
  const byKind = new Map<string, DatasetProblem[]>();
  for (const p of problems) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p]);
  const lines: string[] = [];
  for (const [kind, group] of byKind) {
    lines.push(...group.slice(0, FIRST_FEW).map((p) => `  - ${p.message}`));
    if (group.length > FIRST_FEW) lines.push(`  … and ${group.length - FIRST_FEW} more of this kind (${kind}; --json lists every one)`);
  }
  return lines;
}
