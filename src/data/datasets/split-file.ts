/**
 * Split-file sets (the ten cross-dataset sets of TPT's Table 2): the test samples are the entries of a split
 * file, not the files on disk.
 *
 * - `split-json` (azshue/TPT data/fewshot_datasets.py, `BaseJsonDataset`): CoOp's `split_zhou_<X>.json`,
 *   `{"train": […], "val": […], "test": […]}` of `[relative path, label, class name]`; TPT reads `test`, takes
 *   the path and the integer label in the file's order, and ignores the stored name.
 * - `aircraft-variants` (same file, class `Aircraft`): `variants.txt` lists the 100 variants in label order;
 *   each line "<id> <variant>" of `images_variant_test.txt` is the image `images/<id>.jpg` with the label of
 *   its variant (the variant is everything after the first space: "Boeing 717", "F/A-18").
 *
 * Two layouts are accepted (notes: TPT vs CoOp): `dataset_path` is CoOp's dataset folder (the image folder
 * `imageDir` inside it, the split file beside it), or the image folder itself as TPT's `data_root/<set>`
 * expects, with `split_file` naming the split file wherever it is. Sample paths are relative to the image
 * folder in both, so a run's records and its per-sample random streams do not depend on the layout.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { TptError } from '../../errors.js';
import { type ClassCount, type DatasetProblem, type DatasetSample, type ListOptions, type SampleList, classProblems, extractHint, problem } from './listing.js';
import type { DatasetSpec } from './registry.js';

interface SplitEntry {
  readonly file: string;
  readonly label: number;
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function splitListing(spec: DatasetSpec): { splitFile: string; imageDir: string } {
  if (spec.listing.kind === 'folder-tree') throw new Error(`split-file lister called for ${spec.name}, a folder-tree set`);
  return spec.listing;
}

/** The split file name another registry entry uses, when `file` is one (a slip worth naming). */
function splitFileOwner(file: string, others: readonly DatasetSpec[]): DatasetSpec | undefined {
  return others.find((s) => s.listing.kind !== 'folder-tree' && s.listing.splitFile === basename(file));
}

function foreign(spec: DatasetSpec, path: string, why: string): TptError {
  return new TptError('DATASET_SPLIT_FOREIGN', `${path} is not ${spec.title}'s split file: ${why}`, {
    hint: `set split_file to ${spec.title}'s ${splitListing(spec).splitFile} (CoOp's DATASETS.md links it; TPT keeps it in data/data_splits/), or pick the dataset it belongs to with dataset`,
  });
}

async function readSplitText(spec: DatasetSpec, path: string, given: boolean): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const where = given ? 'split_file names' : `no split_file is set, so it is looked for in the dataset folder:`;
    throw new TptError('DATASET_SPLIT_NOT_FOUND', `cannot read ${spec.title}'s split file (${where} ${path}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: `set split_file to ${splitListing(spec).splitFile} (CoOp's DATASETS.md links it; TPT keeps it in data/data_splits/), or ${extractHint(spec)}`,
      cause: e,
    });
  }
}

/** The `test` entries of a CoOp split file, with labels checked against the class list. */
function parseJsonSplit(spec: DatasetSpec, path: string, text: string): SplitEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw foreign(spec, path, `it is not JSON (${(e as Error).message})`);
  }
  const test = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>).test : undefined;
  if (!Array.isArray(test)) throw foreign(spec, path, 'it has no "test" list (a CoOp split file is {"train": […], "val": […], "test": […]})');
  const n = spec.classes.length;
  return test.map((entry: unknown, i) => {
    const [file, label] = Array.isArray(entry) ? (entry as unknown[]) : [];
    if (typeof file !== 'string' || file === '' || typeof label !== 'number' || !Number.isInteger(label)) {
      throw foreign(spec, path, `test entry ${i} is ${JSON.stringify(entry)}, not [relative path, integer label, class name]`);
    }
    if (label < 0 || label >= n) throw foreign(spec, path, `test entry ${i} (${file}) has label ${label}, outside ${spec.title}'s ${n} classes`);
    return { file, label };
  });
}

/** FGVC-Aircraft's test list: `images_variant_test.txt` lines against `variants.txt`, beside it. */
async function parseAircraftSplit(spec: DatasetSpec, path: string, text: string, variantsFile: string): Promise<SplitEntry[]> {
  const variantsPath = join(dirname(path), variantsFile);
  const variantsText = await readSplitText(spec, variantsPath, true);
  // TPT: `[l.replace("\n", "") for l in fp.readlines()]`; a final newline adds no line.
  const lines = (t: string): string[] => t.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
  const variants = lines(variantsText);
  if (variants.length !== spec.classes.length) throw foreign(spec, variantsPath, `it lists ${variants.length} variants, ${spec.title} has ${spec.classes.length}`);
  const labelOf = new Map(variants.map((v, i) => [v, i]));
  return lines(text).map((line, i) => {
    const space = line.indexOf(' ');
    const label = space > 0 ? labelOf.get(line.slice(space + 1)) : undefined;
    if (label === undefined) throw foreign(spec, path, `line ${i + 1} "${line}" is not "<image id> <variant>" with a variant of ${variantsFile}`);
    return { file: `${line.slice(0, space)}.jpg`, label };
  });
}

/** Which image files exist, reading each directory once (a split lists thousands of files in few folders). */
async function existingFiles(imageRoot: string, files: readonly string[]): Promise<(file: string) => boolean> {
  const byDir = new Map<string, Set<string> | null>();
  for (const f of files) byDir.set(posix.dirname(f), null);
  await Promise.all(
    [...byDir.keys()].map(async (dir) => {
      const entries = await readdir(join(imageRoot, dir), { withFileTypes: true }).catch(() => []);
      byDir.set(dir, new Set(entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name)));
    }),
  );
  return (file) => byDir.get(posix.dirname(file))?.has(posix.basename(file)) ?? false;
}

/** The folder a split-file set's sample paths are relative to: CoOp's image folder inside `root` when it is there (CoOp's layout), else `root` itself (TPT's). */
export async function splitImageRoot(spec: DatasetSpec, root: string): Promise<string> {
  const { imageDir } = splitListing(spec);
  return imageDir !== '' && (await isDir(join(root, imageDir))) ? join(root, imageDir) : root;
}

/**
 * Lists a split-file set and every problem, without throwing for them (an unreadable root, a missing or
 * foreign split file throw). `others`: the registry's entries, to name another set's split file.
 */
export async function listSplitFile(spec: DatasetSpec, root: string, options: ListOptions, others: readonly DatasetSpec[]): Promise<SampleList> {
  const listing = splitListing(spec);
  if (!(await isDir(root))) {
    throw new TptError('DATASET_NOT_FOUND', `cannot read the dataset folder ${root}: not a readable folder`, { hint: extractHint(spec) });
  }
  const imageRoot = await splitImageRoot(spec, root);
  const given = options.splitFile !== undefined && options.splitFile !== null;
  const splitFile = given ? (options.splitFile as string) : join(root, listing.splitFile);
  const owner = splitFileOwner(splitFile, others);
  if (owner !== undefined && owner.name !== spec.name) throw foreign(spec, splitFile, `that file name is ${owner.title}'s (dataset: ${owner.name})`);
  const text = await readSplitText(spec, splitFile, given);
  const entries =
    spec.listing.kind === 'aircraft-variants' ? await parseAircraftSplit(spec, splitFile, text, spec.listing.variantsFile) : parseJsonSplit(spec, splitFile, text);

  const problems: DatasetProblem[] = [];
  if (entries.length === 0) problems.push(problem('empty_split', 'error', splitFile, `the test split of ${splitFile} lists no samples`));
  const exists = await existingFiles(imageRoot, entries.map((e) => e.file));
  const samples: DatasetSample[] = [];
  const listed = new Array<number>(spec.classes.length).fill(0);
  const found = new Array<number>(spec.classes.length).fill(0);
  const missing: string[] = [];
  for (const e of entries) {
    listed[e.label] = (listed[e.label] ?? 0) + 1;
    if (exists(e.file)) {
      samples.push({ file: e.file, target: e.label });
      found[e.label] = (found[e.label] ?? 0) + 1;
    } else {
      missing.push(e.file);
    }
  }
  const severity = options.allowPartial ? 'warning' : 'error';
  for (const file of missing) {
    problems.push(problem('missing_image', severity, file, `${join(imageRoot, file)} is in the split but not on disk${options.allowPartial ? '; skipped' : ''}`));
  }
  const classes: ClassCount[] = spec.classes.map((c) => ({ label: c.label, name: c.name, images: found[c.label] ?? 0, present: (listed[c.label] ?? 0) > 0 }));
  problems.push(
    ...classProblems(classes, options.allowPartial, {
      missing: (c) => `class ${c.label} (${c.name}) has no sample in the split`,
      empty: (c) => `class ${c.label} (${c.name}): none of its images is on disk`,
    }),
  );
  if (entries.length > 0 && samples.length === 0) {
    problems.push(problem('no_images', 'error', '.', `none of the split's ${entries.length} images is under ${imageRoot}`));
  }
  return { imageRoot, splitFile, samples, classes, problems };
}
