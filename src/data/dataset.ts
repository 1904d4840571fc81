/**
 * The ImageNet-A folder as the seed reads it (`ImageNetA(ImageFolder)`), listed without decoding any image.
 *
 * Order: torchvision's `make_dataset` — class folders sorted by name, then inside each class `sorted(os.walk())`
 * (directories by path, recursively, following symlinks) and the file names of each directory sorted. Sorting
 * compares code points, as Python's `sorted` on str does.
 *
 * Labels: always the index in the 200-class list (src/model/imagenet-a.ts), never the position among the
 * folders that exist. The seed's ImageFolder numbers the folders that exist; the two agree only when all 200
 * folders (and no others) are present, which is the only case the seed accepts. For a partial folder
 * (`allow_partial_dataset`) our labels stay those of the full list, so logits over the 200 classes score right.
 *
 * Problems are collected, not thrown one by one: `scanImageNetA` returns all of them, `openImageNetA` throws a
 * single TptError listing the fatal ones, and `verifyImageNetA` (dataset-verify.ts) adds decode checks.
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TptError } from '../errors.js';
import { IMAGENET_A_CLASSES, IMAGENET_A_WNIDS, isImageNetAWnid, wnidToLabel } from '../model/imagenet-a.js';

/** torchvision's IMG_EXTENSIONS (ImageFolder accepts a file when its lower-cased name ends with one). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'] as const;

const WNID_PATTERN = /^n\d{8}$/;
const EXTRACT_HINT =
  'point imagenet_a_path at the folder that holds n01498041/, n01531178/, …; `tpt dataset extract <imagenet-a.tar> --out <dir>` unpacks the archive';

export interface ImageNetASample {
  /** Path relative to the dataset root, with forward slashes (also the sample's stable identity). */
  readonly file: string;
  /** Label: index in the 200-class ImageNet-A list. */
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
  | 'no_images'
  | 'not_found'
  | 'not_imagenet_a';

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
  readonly name: string;
  readonly label: number;
  /** Valid image files found (0 for a missing or empty class). */
  readonly images: number;
  readonly present: boolean;
}

export interface ImageNetADataset {
  /** The root folder as given. */
  readonly root: string;
  /** All samples in ImageFolder order. */
  readonly samples: readonly ImageNetASample[];
  /** One entry per ImageNet-A class, in label order. */
  readonly classes: readonly ClassCount[];
  /** Every problem found (fatal ones included when returned by `scanImageNetA`). */
  readonly problems: readonly DatasetProblem[];
  readonly complete: boolean;
}

export interface OpenOptions {
  /** Accept a subset of the 200 class folders (config `allow_partial_dataset`). */
  readonly allowPartial?: boolean;
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

/** Throws the "this is not ImageNet-A at all" errors, which make a per-class listing pointless. */
async function rejectForeignFolder(root: string, dirs: string[], files: string[]): Promise<void> {
  const known = dirs.filter(isImageNetAWnid);
  const foreignWnids = dirs.filter((d) => WNID_PATTERN.test(d) && !isImageNetAWnid(d));
  if (known.length === 0) {
    const images = files.filter(hasImageExtension);
    if (images.length > 0) {
      throw new TptError(
        'DATASET_NOT_IMAGENET_A',
        `${root} holds ${images.length} image file(s) directly (e.g. ${images[0]}) and no ImageNet-A class folders`,
        { hint: `ImageNet-A keeps each class's images in a folder named by its WordNet id; ${EXTRACT_HINT}` },
      );
    }
    // A common slip: pointing at the folder that contains `imagenet-a/`.
    for (const d of dirs) {
      const inner = await listDir(join(root, d)).catch(() => ({ dirs: [] as string[], files: [] as string[] }));
      if (inner.dirs.some(isImageNetAWnid)) {
        throw new TptError('DATASET_NOT_IMAGENET_A', `${root} has no ImageNet-A class folders, but ${join(root, d)} does`, {
          hint: `set imagenet_a_path to ${join(root, d)}`,
        });
      }
    }
    const what = foreignWnids.length > 0 ? `${foreignWnids.length} WordNet-id folders, none of them an ImageNet-A class` : 'no WordNet-id class folders';
    throw new TptError('DATASET_NOT_IMAGENET_A', `${root} is not an ImageNet-A folder: it has ${what}`, { hint: EXTRACT_HINT });
  }
  if (foreignWnids.length > known.length) {
    const looksLike = dirs.filter((d) => WNID_PATTERN.test(d)).length >= 1000 ? ' It looks like ImageNet-1k.' : '';
    throw new TptError(
      'DATASET_NOT_IMAGENET_A',
      `${root} is not ImageNet-A: ${foreignWnids.length} of its ${known.length + foreignWnids.length} WordNet-id folders are not ImageNet-A classes (e.g. ${foreignWnids.slice(0, 3).join(', ')}).${looksLike}`,
      { hint: EXTRACT_HINT },
    );
  }
}

/**
 * Lists the dataset and every problem, without throwing for them (only an unreadable or foreign root throws).
 * `allowPartial` decides whether missing or empty classes are errors or warnings.
 */
export async function scanImageNetA(root: string, options: OpenOptions = {}): Promise<ImageNetADataset> {
  const allowPartial = options.allowPartial ?? false;
  let top: { dirs: string[]; files: string[] };
  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
    top = await listDir(root);
  } catch (e) {
    throw new TptError('DATASET_NOT_FOUND', `cannot read the dataset folder ${root}: ${(e as Error).message}`, {
      hint: EXTRACT_HINT,
      cause: e,
    });
  }
  await rejectForeignFolder(root, top.dirs, top.files);

  const problems: DatasetProblem[] = [];
  const partialSeverity = allowPartial ? 'warning' : 'error';
  for (const name of top.dirs.sort(compareCodePoints)) {
    if (isImageNetAWnid(name)) continue;
    if (WNID_PATTERN.test(name)) {
      problems.push(problem('foreign_wnid_folder', 'error', name, `folder ${name}/ is a WordNet id outside ImageNet-A's 200 classes`));
    } else {
      problems.push(problem('unknown_folder', 'warning', name, `folder ${name}/ is not an ImageNet-A class; its files are ignored`));
    }
  }
  // Only stray images are worth a word: the archive itself ships a README.txt beside the class folders.
  for (const name of top.files.filter(hasImageExtension).sort(compareCodePoints)) {
    problems.push(problem('top_level_file', 'warning', name, `image ${name} sits outside the class folders and is ignored`));
  }

  const present = new Set(top.dirs.filter(isImageNetAWnid));
  const samples: ImageNetASample[] = [];
  const counts = new Map<string, number>();
  // IMAGENET_A_WNIDS is sorted, so this is ImageFolder's sorted class order.
  for (const wnid of IMAGENET_A_WNIDS) {
    if (!present.has(wnid)) continue;
    const target = wnidToLabel(wnid);
    let images = 0;
    for (const rel of await walkSorted(join(root, wnid))) {
      const file = `${wnid}/${rel}`;
      if (hasImageExtension(rel)) {
        samples.push({ file, target, wnid });
        images++;
      } else {
        problems.push(problem('wrong_extension', 'warning', file, `${file} does not have an image extension (${IMAGE_EXTENSIONS.join(' ')}) and is ignored`));
      }
    }
    counts.set(wnid, images);
  }

  const classes: ClassCount[] = IMAGENET_A_CLASSES.map((c) => ({
    wnid: c.wnid,
    name: c.name,
    label: c.label,
    images: counts.get(c.wnid) ?? 0,
    present: present.has(c.wnid),
  }));
  for (const c of classes) {
    if (!c.present) {
      problems.push(problem('missing_class', partialSeverity, c.wnid, `class folder ${c.wnid}/ (${c.name}) is missing`));
    } else if (c.images === 0) {
      problems.push(problem('empty_class', partialSeverity, c.wnid, `class folder ${c.wnid}/ (${c.name}) holds no image files`));
    }
  }
  if (samples.length === 0) {
    problems.push(problem('no_images', 'error', '.', 'the class folders hold no image files'));
  }
  const complete = classes.every((c) => c.images > 0);
  return { root, samples, classes, problems, complete };
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
 * Opens the ImageNet-A folder for a run: the samples in ImageFolder order with labels from the 200-class
 * list. Throws one TptError naming every fatal problem (missing or empty classes unless `allowPartial`,
 * foreign WordNet-id folders, no images); warnings are returned in `problems`.
 */
export async function openImageNetA(root: string, options: OpenOptions = {}): Promise<ImageNetADataset> {
  const dataset = await scanImageNetA(root, options);
  const fatal = dataset.problems.filter((p) => p.severity === 'error');
  if (fatal.length > 0) {
    const onlyPartial = fatal.every((p) => p.kind === 'missing_class' || p.kind === 'empty_class');
    const present = dataset.classes.filter((c) => c.images > 0).length;
    throw new TptError(
      'DATASET_NOT_USABLE',
      `${root} is not a usable ImageNet-A folder (${present} of 200 classes have images):\n${describeProblems(fatal)}`,
      {
        hint: onlyPartial
          ? 'set allow_partial_dataset: true to run on the classes that are present, or add the missing folders (`tpt dataset verify <path>` lists everything)'
          : `fix the folders listed above (\`tpt dataset verify <path>\` lists every problem); ${EXTRACT_HINT}`,
      },
    );
  }
  return dataset;
}
