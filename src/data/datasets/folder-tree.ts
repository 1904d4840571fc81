/**
 * Folder-tree sets (the ImageNet sets): ImageFolder over class folders, listed without decoding any image.
 *
 * Order: torchvision's `make_dataset` — class folders sorted by name, then inside each class `sorted(os.walk())`
 * (directories by path, recursively, following symlinks) and the file names of each directory sorted. Sorting
 * compares code points, as Python's `sorted` on str does. The same rule holds for every such set: ImageNet-V2's
 * folders `0` … `999` are visited in string order (`0`, `1`, `10`, `100`, …), which keeps ImageFolder's (and
 * so the published runs') sample order, while each folder's label is its number, never its sorted position.
 *
 * Labels: always the index in the dataset's class list, never the position among the folders that exist.
 * The seed's ImageFolder numbers the folders that exist; the two agree only when all class folders (and no
 * others) are present, which is the only case the seed accepts. For a partial folder (`allow_partial_dataset`)
 * our labels stay those of the full list, so logits over all the classes score right.
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TptError } from '../../errors.js';
import {
  type ClassCount,
  type DatasetProblem,
  type DatasetSample,
  type ListOptions,
  type SampleList,
  classProblems,
  compareCodePoints,
  extractHint,
  hasImageExtension,
  IMAGE_EXTENSIONS,
  problem,
} from './listing.js';
import type { DatasetClass, DatasetName, DatasetSpec, FolderLayout } from './registry.js';

const WNID_PATTERN = /^n\d{8}$/;
const CLASS_INDEX_PATTERN = /^\d+$/;

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

export async function listDir(dir: string): Promise<{ dirs: string[]; files: string[] }> {
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

function folderLayout(spec: DatasetSpec): FolderLayout {
  if (spec.listing.kind !== 'folder-tree') throw new Error(`folder-tree lister called for ${spec.name}, listed by ${spec.listing.kind}`);
  return spec.listing.folders;
}

/** How a layout's class folders are named, for messages. */
function folderWords(spec: DatasetSpec): { pattern: RegExp; folders: string; namedBy: string; one: string } {
  return folderLayout(spec) === 'class-index'
    ? { pattern: CLASS_INDEX_PATTERN, folders: 'class-index folders', namedBy: `its class index (0 … ${spec.classes.length - 1})`, one: 'a class index' }
    : { pattern: WNID_PATTERN, folders: 'WordNet-id folders', namedBy: 'its WordNet id', one: 'a WordNet id' };
}

const FOLDER_MAPS = new Map<DatasetName, ReadonlyMap<string, DatasetClass>>();

/** Class by folder name (folder-tree sets; empty for the others). */
export function classesByFolder(spec: DatasetSpec): ReadonlyMap<string, DatasetClass> {
  let map = FOLDER_MAPS.get(spec.name);
  if (map === undefined) {
    map = new Map(spec.classes.flatMap((c) => (c.folder === undefined ? [] : [[c.folder, c] as const])));
    FOLDER_MAPS.set(spec.name, map);
  }
  return map;
}

/** The folder-tree set whose class folders a folder of `dirs` most looks like, to say so when it is not the one asked for. */
function looksLike(dirs: readonly string[], asked: DatasetSpec, others: readonly DatasetSpec[]): string {
  const names = new Set(dirs);
  let best: { spec: DatasetSpec; hits: number } | undefined;
  for (const spec of others) {
    if (spec.name === asked.name || spec.listing.kind !== 'folder-tree') continue;
    const hits = [...classesByFolder(spec).keys()].filter((f) => names.has(f)).length;
    // A set whose folders are (nearly) all there; ties go to the larger set (ImageNet-1k before a subset).
    if (hits >= 0.9 * spec.classes.length && (best === undefined || hits > best.hits)) best = { spec, hits };
  }
  if (best === undefined) return '';
  const { spec: like } = best;
  const alike = others.filter((s) => s.listing.kind === 'folder-tree' && s.classes.length === like.classes.length && [...classesByFolder(like).keys()].every((f) => classesByFolder(s).has(f)));
  return ` Its class folders are those of ${alike.map((s) => `dataset: ${s.name}`).join(' or ')}.`;
}

/** Throws the "this is not the dataset at all" errors, which make a per-class listing pointless. */
async function rejectForeignFolder(spec: DatasetSpec, root: string, dirs: string[], files: string[], others: readonly DatasetSpec[]): Promise<void> {
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
    // A common slip: pointing at the folder that contains the dataset's folder.
    for (const d of dirs) {
      const inner = await listDir(join(root, d)).catch(() => ({ dirs: [] as string[], files: [] as string[] }));
      if (inner.dirs.some((x) => byFolder.has(x))) {
        throw new TptError(code, `${root} has no ${spec.title} class folders, but ${join(root, d)} does`, {
          hint: `set ${spec.pathKey} to ${join(root, d)}`,
        });
      }
    }
    const what = foreign.length > 0 ? `${foreign.length} ${words.folders}, none of them an ${spec.title} class` : `no ${words.folders.replace(' folders', ' class folders')}`;
    throw new TptError(code, `${root} is not an ${spec.title} folder: it has ${what}${looksLike(dirs, spec, others)}`, { hint });
  }
  if (foreign.length > known.length) {
    throw new TptError(
      code,
      `${root} is not ${spec.title}: ${foreign.length} of its ${known.length + foreign.length} ${words.folders} are not ${spec.title} classes (e.g. ${foreign.slice(0, 3).join(', ')}).${looksLike(dirs, spec, others)}`,
      { hint },
    );
  }
}

/**
 * Lists a folder-tree set and every problem, without throwing for them (only an unreadable or foreign root
 * throws). `others`: the registry's entries, to name the set a foreign folder looks like.
 */
export async function listFolderTree(spec: DatasetSpec, root: string, options: ListOptions, others: readonly DatasetSpec[]): Promise<SampleList> {
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
  await rejectForeignFolder(spec, root, top.dirs, top.files, others);

  const byFolder = classesByFolder(spec);
  const words = folderWords(spec);
  const n = spec.classes.length;
  const problems: DatasetProblem[] = [];
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
        samples.push(cls.wnid === undefined ? { file, target: cls.label } : { file, target: cls.label, wnid: cls.wnid });
        images++;
      } else {
        problems.push(problem('wrong_extension', 'warning', file, `${file} does not have an image extension (${IMAGE_EXTENSIONS.join(' ')}) and is ignored`));
      }
    }
    counts.set(folder, images);
  }

  const classes: ClassCount[] = spec.classes.map((c) => ({
    label: c.label,
    name: c.name,
    ...(c.wnid === undefined ? {} : { wnid: c.wnid }),
    ...(c.folder === undefined ? {} : { folder: c.folder }),
    images: counts.get(c.folder ?? '') ?? 0,
    present: counts.has(c.folder ?? ''),
  }));
  problems.push(
    ...classProblems(classes, options.allowPartial, {
      missing: (c) => `class folder ${c.folder}/ (${c.name}) is missing`,
      empty: (c) => `class folder ${c.folder}/ (${c.name}) holds no image files`,
    }),
  );
  if (samples.length === 0) {
    problems.push(problem('no_images', 'error', '.', 'the class folders hold no image files'));
  }
  return { imageRoot: root, samples, classes, problems };
}
