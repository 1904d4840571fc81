/**
 * A test-set folder (ImageNet-A as the seed reads it, `ImageNetA(ImageFolder)`, or any dataset of the
 * registry in src/data/datasets/), listed without decoding any image.
 *
 * Order: torchvision's `make_dataset` — class folders sorted by name, then inside each class `sorted(os.walk())`
 * (directories by path, recursively, following symlinks) and the file names of each directory sorted. Sorting
 * compares code points, as Python's `sorted` on str does. The same rule holds for every dataset: ImageNet-V2's
 * folders `0` … `999` are visited in string order (`0`, `1`, `10`, `100`, …), which keeps ImageFolder's (and
 * so the published runs') sample order, while each folder's label is its number, never its sorted position.
 *
 * Labels: always the index in the dataset's class list, never the position among the folders that exist.
 * The seed's ImageFolder numbers the folders that exist; the two agree only when all class folders (and no
 * others) are present, which is the only case the seed accepts. For a partial folder (`allow_partial_dataset`)
 * our labels stay those of the full list, so logits over all the classes score right.
 *
 * Problems are collected, not thrown one by one: `scanDataset` returns all of them, `openDataset` throws a
 * single TptError listing the fatal ones, and `verifyDataset` (dataset-verify.ts) adds decode checks.
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TptError } from '../errors.js';
import { type DatasetClass, type DatasetName, type DatasetSpec, getDataset } from './datasets/registry.js';

/** torchvision's IMG_EXTENSIONS (ImageFolder accepts a file when its lower-cased name ends with one). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'] as const;

const WNID_PATTERN = /^n\d{8}$/;
const CLASS_INDEX_PATTERN = /^\d+$/;

export interface DatasetSample {
  /** Path relative to the dataset root, with forward slashes (also the sample's stable identity). */
  readonly file: string;
  /** Label: index in the dataset's class list. */
  readonly target: number;
  readonly wnid: string;
}

export type ProblemKind =
  | 'missing_class'
  | 'empty_class'
  | 'unknown_folder'
  | 'foreign_wnid_folder'
  | 'wrong_extension'
  | 'top_level_file'
  | 'undecodable_image'
  /** Decodes, but a side is shorter than the patch grid (`verify` only; a PatchAugmenter run skips it). */
  | 'small_image'
  | 'no_images'
  | 'not_found'
  /** `verify` of a folder that is not the dataset at all: `not_imagenet_a` for ImageNet-A (as before), else `not_dataset`. */
  | 'not_imagenet_a'
  | 'not_dataset';

export interface DatasetProblem {
  readonly kind: ProblemKind;
  /** `error`: the folder is not usable as it is; `warning`: reported, the affected files are skipped. */
  readonly severity: 'error' | 'warning';
  /** Dataset-relative path (folder or file) or wnid the problem is about. */
  readonly path: string;
  readonly message: string;
}

export interface ClassCount {
  readonly wnid: string;
  /** The class's folder: its wnid, or for ImageNet-V2 its label. */
  readonly folder: string;
  readonly name: string;
  readonly label: number;
  /** Valid image files found (0 for a missing or empty class). */
  readonly images: number;
  readonly present: boolean;
}

export interface DatasetListing {
  /** The root folder as given. */
  readonly root: string;
  readonly dataset: DatasetName;
  /** All samples in ImageFolder order. */
  readonly samples: readonly DatasetSample[];
  /** One entry per class of the dataset, in label order. */
  readonly classes: readonly ClassCount[];
  /** Every problem found (fatal ones included when returned by `scanDataset`). */
  readonly problems: readonly DatasetProblem[];
  readonly complete: boolean;
}

export interface OpenOptions {
  /** Accept a subset of the class folders (config `allow_partial_dataset`). */
  readonly allowPartial?: boolean;
}

export interface DatasetOpenOptions extends OpenOptions {
  /** Registry name (config `dataset`); default `imagenet-a`. */
  readonly dataset?: DatasetName;
}

/** Python's `sorted` on str: code-point order (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = (x.value.codePointAt(0) as number) - (y.value.codePointAt(0) as number);
    if (d !== 0) return d;
  }
}

export function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** Whether a directory entry is (or links to) a directory, as Python's `DirEntry.is_dir()`. */
async function isDirectory(parent: string, entry: Dirent): Promise<boolean> {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await stat(join(parent, entry.name))).isDirectory();
  } catch {
    return false; // a dangling link is a file for os.walk
  }
}

async function listDir(dir: string): Promise<{ dirs: string[]; files: string[] }> {
  const entries = await readdir(dir, { withFileTypes: true });
  const dirs: string[] = [];
  const files: string[] = [];
  for (const entry of entries) (await isDirectory(dir, entry)) ? dirs.push(entry.name) : files.push(entry.name);
  return { dirs, files };
}

/**
 * All files under `classDir` in `sorted(os.walk(classDir, followlinks=True))` order, as paths relative to
 * `classDir`. os.walk yields (dirpath, …) tuples; sorting them sorts by dirpath, so every directory's files
 * come as one sorted block, directories ordered by their full path.
 */
async function walkSorted(classDir: string): Promise<string[]> {
  const blocks: { relDir: string; files: string[] }[] = [];
  // Real paths of the directories above, so a symlink cycle cannot loop forever (os.walk would).
  const visit = async (relDir: string, ancestors: ReadonlySet<string>): Promise<void> => {
    const abs = relDir === '' ? classDir : join(classDir, relDir);
    const real = await realpath(abs);
    if (ancestors.has(real)) return;
    const { dirs, files } = await listDir(abs);
    blocks.push({ relDir, files: files.sort(compareCodePoints) });
    const below = new Set(ancestors).add(real);
    for (const d of dirs) await visit(relDir === '' ? d : `${relDir}/${d}`, below);
  };
  await visit('', new Set());
  // Python compares the joined dirpaths; they share the classDir prefix, so the relative parts decide.
  blocks.sort((x, y) => compareCodePoints(x.relDir, y.relDir));
  return blocks.flatMap((b) => b.files.map((f) => (b.relDir === '' ? f : `${b.relDir}/${f}`)));
}

function problem(kind: ProblemKind, severity: 'error' | 'warning', path: string, message: string): DatasetProblem {
  return { kind, severity, path, message };
}

/** The config key that names the folder, as a user would set it. */
function pathKey(spec: DatasetSpec): string {
  return spec.name === 'imagenet-a' ? 'imagenet_a_path' : 'dataset_path';
}

/** Where to point the config, and how to get the folder. */
export function extractHint(spec: DatasetSpec): string {
  return `point ${pathKey(spec)} at ${spec.folderHint}; \`tpt dataset extract <archive> --dataset ${spec.name} --out <dir>\` unpacks ${spec.archive}`;
}

/** How a layout's class folders are named, for messages. */
function folderWords(spec: DatasetSpec): { pattern: RegExp; folders: string; namedBy: string; one: string } {
  return spec.layout === 'class-index'
    ? { pattern: CLASS_INDEX_PATTERN, folders: 'class-index folders', namedBy: 'its class index (0 … 999)', one: 'a class index' }
    : { pattern: WNID_PATTERN, folders: 'WordNet-id folders', namedBy: 'its WordNet id', one: 'a WordNet id' };
}

/** What a folder of class folders looks like, to say so when it is not the dataset asked for. */
function looksLike(dirs: readonly string[]): string {
  if (dirs.filter((d) => WNID_PATTERN.test(d)).length >= 1000) return ' It looks like ImageNet-1k (dataset: imagenet or imagenet-sketch).';
  if (dirs.filter((d) => CLASS_INDEX_PATTERN.test(d)).length >= 1000) return ' It looks like ImageNet-V2 (dataset: imagenet-v2).';
  return '';
}

const FOLDER_MAPS = new Map<DatasetName, ReadonlyMap<string, DatasetClass>>();

/** Class by folder name. */
export function classesByFolder(spec: DatasetSpec): ReadonlyMap<string, DatasetClass> {
  let map = FOLDER_MAPS.get(spec.name);
  if (map === undefined) {
    map = new Map(spec.classes.map((c) => [c.folder, c]));
    FOLDER_MAPS.set(spec.name, map);
  }
  return map;
}

/** Throws the "this is not the dataset at all" errors, which make a per-class listing pointless. */
async function rejectForeignFolder(spec: DatasetSpec, root: string, dirs: string[], files: string[]): Promise<void> {
  const byFolder = classesByFolder(spec);
  const words = folderWords(spec);
  const code = 'DATASET_NOT_THIS_SET';
  const hint = extractHint(spec);
  const known = dirs.filter((d) => byFolder.has(d));
  const foreign = dirs.filter((d) => words.pattern.test(d) && !byFolder.has(d));
  if (known.length === 0) {
    const images = files.filter(hasImageExtension);
    if (images.length > 0) {
      throw new TptError(code, `${root} holds ${images.length} image file(s) directly (e.g. ${images[0]}) and no ${spec.title} class folders`, {
        hint: `${spec.title} keeps each class's images in a folder named by ${words.namedBy}; ${hint}`,
      });
    }
    // A common slip: pointing at the folder that contains `imagenet-a/`.
    for (const d of dirs) {
      const inner = await listDir(join(root, d)).catch(() => ({ dirs: [] as string[], files: [] as string[] }));
      if (inner.dirs.some((x) => byFolder.has(x))) {
        throw new TptError(code, `${root} has no ${spec.title} class folders, but ${join(root, d)} does`, {
          hint: `set ${pathKey(spec)} to ${join(root, d)}`,
        });
      }
    }
    const what = foreign.length > 0 ? `${foreign.length} ${words.folders}, none of them an ${spec.title} class` : `no ${words.folders.replace(' folders', ' class folders')}`;
    throw new TptError(code, `${root} is not an ${spec.title} folder: it has ${what}${looksLike(dirs)}`, { hint });
  }
  if (foreign.length > known.length) {
    throw new TptError(
      code,
      `${root} is not ${spec.title}: ${foreign.length} of its ${known.length + foreign.length} ${words.folders} are not ${spec.title} classes (e.g. ${foreign.slice(0, 3).join(', ')}).${looksLike(dirs)}`,
      { hint },
    );
  }
}

/**
 * Lists the dataset and every problem, without throwing for them (only an unreadable or foreign root throws).
 * `allowPartial` decides whether missing or empty classes are errors or warnings.
 */
export async function scanDataset(root: string, options: DatasetOpenOptions = {}): Promise<DatasetListing> {
  const spec = getDataset(options.dataset ?? 'imagenet-a');
  const allowPartial = options.allowPartial ?? false;
  let top: { dirs: string[]; files: string[] };
  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
    top = await listDir(root);
  } catch (e) {
    throw new TptError('DATASET_NOT_FOUND', `cannot read the dataset folder ${root}: ${(e as Error).message}`, {
      hint: extractHint(spec),
      cause: e,
    });
  }
  await rejectForeignFolder(spec, root, top.dirs, top.files);

  const byFolder = classesByFolder(spec);
  const words = folderWords(spec);
  const n = spec.classes.length;
  const problems: DatasetProblem[] = [];
  const partialSeverity = allowPartial ? 'warning' : 'error';
  const sortedDirs = top.dirs.sort(compareCodePoints);
  for (const name of sortedDirs) {
    if (byFolder.has(name)) continue;
    if (words.pattern.test(name)) {
      problems.push(problem('foreign_wnid_folder', 'error', name, `folder ${name}/ is ${words.one} outside ${spec.title}'s ${n} classes`));
    } else {
      problems.push(problem('unknown_folder', 'warning', name, `folder ${name}/ is not an ${spec.title} class; its files are ignored`));
    }
  }
  // Only stray images are worth a word: the archive itself ships a README.txt beside the class folders.
  for (const name of top.files.filter(hasImageExtension).sort(compareCodePoints)) {
    problems.push(problem('top_level_file', 'warning', name, `image ${name} sits outside the class folders and is ignored`));
  }

  const samples: DatasetSample[] = [];
  const counts = new Map<string, number>();
  // ImageFolder's class order: the folder names sorted as strings (for V2 that is not label order).
  for (const folder of sortedDirs) {
    const cls = byFolder.get(folder);
    if (cls === undefined) continue;
    let images = 0;
    for (const rel of await walkSorted(join(root, folder))) {
      const file = `${folder}/${rel}`;
      if (hasImageExtension(rel)) {
        samples.push({ file, target: cls.label, wnid: cls.wnid });
        images++;
      } else {
        problems.push(problem('wrong_extension', 'warning', file, `${file} does not have an image extension (${IMAGE_EXTENSIONS.join(' ')}) and is ignored`));
      }
    }
    counts.set(folder, images);
  }

  const classes: ClassCount[] = spec.classes.map((c) => ({
    wnid: c.wnid,
    folder: c.folder,
    name: c.name,
    label: c.label,
    images: counts.get(c.folder) ?? 0,
    present: counts.has(c.folder),
  }));
  for (const c of classes) {
    if (!c.present) {
      problems.push(problem('missing_class', partialSeverity, c.folder, `class folder ${c.folder}/ (${c.name}) is missing`));
    } else if (c.images === 0) {
      problems.push(problem('empty_class', partialSeverity, c.folder, `class folder ${c.folder}/ (${c.name}) holds no image files`));
    }
  }
  if (samples.length === 0) {
    problems.push(problem('no_images', 'error', '.', 'the class folders hold no image files'));
  }
  const complete = classes.every((c) => c.images > 0);
  return { root, dataset: spec.name, samples, classes, problems, complete };
}

/** `scanDataset` of ImageNet-A (the seed's only dataset). */
export function scanImageNetA(root: string, options: OpenOptions = {}): Promise<DatasetListing> {
  return scanDataset(root, { ...options, dataset: 'imagenet-a' });
}

/** Describes fatal problems for an error message: every one, grouped, each group capped at `limit` lines. */
export function describeProblems(problems: readonly DatasetProblem[], limit = 20): string {
  const byKind = new Map<ProblemKind, DatasetProblem[]>();
  for (const p of problems) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p]);
  const lines: string[] = [];
  for (const group of byKind.values()) {
    for (const p of group.slice(0, limit)) lines.push(`  - ${p.message}`);
    if (group.length > limit) lines.push(`  - … and ${group.length - limit} more like it`);
  }
  return lines.join('\n');
}

/**
 * Opens a dataset folder for a run: the samples in ImageFolder order with labels from the dataset's class
 * list. Throws one TptError naming every fatal problem (missing or empty classes unless `allowPartial`,
 * foreign class folders, no images); warnings are returned in `problems`.
 */
export async function openDataset(root: string, options: DatasetOpenOptions = {}): Promise<DatasetListing> {
  const dataset = await scanDataset(root, options);
  const fatal = dataset.problems.filter((p) => p.severity === 'error');
  if (fatal.length > 0) {
    const spec = getDataset(dataset.dataset);
    const onlyPartial = fatal.every((p) => p.kind === 'missing_class' || p.kind === 'empty_class');
    const present = dataset.classes.filter((c) => c.images > 0).length;
    throw new TptError(
      'DATASET_NOT_USABLE',
      `${root} is not a usable ${spec.title} folder (${present} of ${spec.classes.length} classes have images):\n${describeProblems(fatal)}`,
      {
        hint: onlyPartial
          ? `set allow_partial_dataset: true to run on the classes that are present, or add the missing folders (\`tpt dataset verify${spec.name === 'imagenet-a' ? '' : ` --dataset ${spec.name}`} <path>\` lists everything)`
          : `fix the folders listed above (\`tpt dataset verify <path>\` lists every problem); ${extractHint(spec)}`,
      },
    );
  }
  return dataset;
}

/** `openDataset` of ImageNet-A (the seed's only dataset). */
export function openImageNetA(root: string, options: OpenOptions = {}): Promise<DatasetListing> {
  return openDataset(root, { ...options, dataset: 'imagenet-a' });
}
