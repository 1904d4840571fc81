/**
 * A test set on disk, listed without decoding any image: the registry entry (src/data/datasets/registry.ts)
 * says how its samples are listed, and the lister of that kind lists them (datasets/folder-tree.ts for the
 * ImageNet sets' class folders, datasets/split-file.ts for the split files of the cross-dataset sets).
 *
 * Problems are collected, not thrown one by one: `scanDataset` returns all of them, `openDataset` throws a
 * single TptError listing the fatal ones, and `verifyDataset` (dataset-verify.ts) adds decode checks. The
 * opened dataset carries its registry entry (`spec`): class names, title, views rule, benchmark.
 */
import { TptError } from '../errors.js';
import { listFolderTree } from './datasets/folder-tree.js';
import { type DatasetListing, type DatasetProblem, extractHint, type ProblemKind } from './datasets/listing.js';
import { allDatasets, type DatasetName, DEFAULT_DATASET, getDataset } from './datasets/registry.js';
import { listSplitFile, splitImageRoot } from './datasets/split-file.js';

export {
  type ClassCount,
  compareCodePoints,
  type DatasetListing,
  type DatasetProblem,
  type DatasetSample,
  extractHint,
  hasImageExtension,
  IMAGE_EXTENSIONS,
  type ProblemKind,
} from './datasets/listing.js';
export { classesByFolder } from './datasets/folder-tree.js';

export interface OpenOptions {
  /** Accept a subset of the classes (config `allow_partial_dataset`). */
  readonly allowPartial?: boolean;
}

export interface DatasetOpenOptions extends OpenOptions {
  /** Registry name (config `dataset`); default: the registry's default dataset. */
  readonly dataset?: DatasetName;
  /** Split-file sets: the split file (config `split_file`); null or undefined: looked up in the dataset folder. */
  readonly splitFile?: string | null;
}

/**
 * Lists the dataset and every problem, without throwing for them (only an unreadable or foreign root, or a
 * missing or foreign split file, throws). `allowPartial` decides whether missing or empty classes are errors
 * or warnings.
 */
export async function scanDataset(root: string, options: DatasetOpenOptions = {}): Promise<DatasetListing> {
  const spec = getDataset(options.dataset ?? DEFAULT_DATASET);
  const listOptions = { allowPartial: options.allowPartial ?? false, splitFile: options.splitFile };
  const list =
    spec.listing.kind === 'folder-tree' ? await listFolderTree(spec, root, listOptions, allDatasets()) : await listSplitFile(spec, root, listOptions, allDatasets());
  const complete = list.classes.every((c) => c.images > 0) && !list.problems.some((p) => p.kind === 'missing_image');
  return { ...list, root, dataset: spec.name, spec, complete };
}

/** The folder a dataset's sample paths (`DatasetSample.file`, a sample's identity) are relative to, without listing it. */
export async function datasetImageRoot(root: string, dataset: DatasetName = DEFAULT_DATASET): Promise<string> {
  const spec = getDataset(dataset);
  return spec.listing.kind === 'folder-tree' ? root : splitImageRoot(spec, root);
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

const PARTIAL_KINDS: ReadonlySet<ProblemKind> = new Set(['missing_class', 'empty_class', 'missing_image']);

/**
 * Opens a dataset folder for a run: the samples in the dataset's order with labels from its class list.
 * Throws one TptError naming every fatal problem (missing or empty classes and missing split images unless
 * `allowPartial`, foreign class folders, no images, an empty split); warnings are returned in `problems`.
 */
export async function openDataset(root: string, options: DatasetOpenOptions = {}): Promise<DatasetListing> {
  const dataset = await scanDataset(root, options);
  const fatal = dataset.problems.filter((p) => p.severity === 'error');
  if (fatal.length > 0) {
    const { spec } = dataset;
    const onlyPartial = fatal.every((p) => PARTIAL_KINDS.has(p.kind));
    const present = dataset.classes.filter((c) => c.images > 0).length;
    const verify = `tpt dataset verify${spec.name === DEFAULT_DATASET ? '' : ` --dataset ${spec.name}`} <path>`;
    throw new TptError(
      'DATASET_NOT_USABLE',
      `${root} is not a usable ${spec.title} folder (${present} of ${spec.classes.length} classes have images):\n${describeProblems(fatal)}`,
      {
        hint: onlyPartial
          ? `set allow_partial_dataset: true to run on the samples that are present, or add the missing ones (\`${verify}\` lists everything)`
          : `fix the problems listed above (\`${verify}\` lists every problem); ${extractHint(spec)}`,
      },
    );
  }
  return dataset;
}
