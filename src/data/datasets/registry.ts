/**
 * The test sets a run can use (config `dataset`), as a registry like the losses': one entry per dataset, its
 * class list coming from the data files beside this one (each names its source). Adding a test set means one
 * entry here and, if it needs one, its class-list data.
 *
 * Every class knows its label (the logits' column), its WordNet id, the name that goes into the prompt, and
 * the folder that holds its images. Folders are WordNet ids everywhere except ImageNet-V2, whose folders are
 * named `0` … `999` after the ImageNet class index: the label of folder `10` is 10, although sorting the
 * folder names as strings (as ImageFolder does) puts `10` before `2`. The TPT code undoes that sort with a
 * mask (`imagenet_v_mask`); here the label comes from the folder's number, so no mask is needed.
 */
import { IMAGENET_1K_CLIP_NAMES, IMAGENET_1K_WNIDS } from './imagenet-1k-data.js';
import { IMAGENET_A_SEED_PAIRS } from './imagenet-a-data.js';
import { IMAGENET_R_WNIDS } from './imagenet-subsets-data.js';

export const DATASET_NAMES = ['imagenet-a', 'imagenet-r', 'imagenet-v2', 'imagenet-sketch', 'imagenet'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** `wnid`: one folder per class named by its WordNet id; `class-index`: folders `0` … `n-1`, the label itself. */
export type FolderLayout = 'wnid' | 'class-index';

export interface DatasetClass {
  /** Index in the dataset's class list; the logits' column for this class. */
  readonly label: number;
  /** WordNet id, e.g. `n01498041`. */
  readonly wnid: string;
  /** Class name as it appears in the prompts, e.g. `stingray`. */
  readonly name: string;
  /** The folder holding this class's images (the wnid, or the label as a decimal for `class-index`). */
  readonly folder: string;
}

export interface DatasetSpec {
  readonly name: DatasetName;
  /** As people write it: `ImageNet-A`. */
  readonly title: string;
  readonly layout: FolderLayout;
  /** In label order. */
  readonly classes: readonly DatasetClass[];
  /** Images in the published dataset (`tpt dataset verify` compares). */
  readonly expectedImages: number;
  /** Out of distribution for a model trained on ImageNet (Table 1's "OOD Average" covers these). */
  readonly ood: boolean;
  /** What the download is called and where it comes from. */
  readonly archive: string;
  readonly download: string;
  /** What the folder to point `dataset_path` at looks like. */
  readonly folderHint: string;
}

function wnidClasses(pairs: readonly (readonly [string, string])[]): DatasetClass[] {
  return pairs.map(([wnid, name], label) => Object.freeze({ label, wnid, name, folder: wnid }));
}

const IMAGENET_1K_PAIRS: readonly (readonly [string, string])[] = IMAGENET_1K_WNIDS.map((wnid, i) => [wnid, IMAGENET_1K_CLIP_NAMES[i] as string]);
const CLIP_NAME_BY_WNID: ReadonlyMap<string, string> = new Map(IMAGENET_1K_PAIRS);

const SPECS: readonly DatasetSpec[] = [
  {
    name: 'imagenet-a',
    title: 'ImageNet-A',
    layout: 'wnid',
    classes: wnidClasses(IMAGENET_A_SEED_PAIRS),
    expectedImages: 7500,
    ood: true,
    archive: 'imagenet-a.tar',
    download: 'https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar',
    folderHint: 'the folder that holds n01498041/, n01531178/, …',
  },
  {
    name: 'imagenet-r',
    title: 'ImageNet-R',
    layout: 'wnid',
    classes: wnidClasses(IMAGENET_R_WNIDS.map((wnid) => [wnid, CLIP_NAME_BY_WNID.get(wnid) as string])),
    expectedImages: 30000,
    ood: true,
    archive: 'imagenet-r.tar',
    download: 'https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar',
    folderHint: 'the folder that holds n01443537/, n01484850/, …',
  },
  {
    name: 'imagenet-v2',
    title: 'ImageNet-V2',
    layout: 'class-index',
    classes: IMAGENET_1K_PAIRS.map(([wnid, name], label) => Object.freeze({ label, wnid, name, folder: String(label) })),
    expectedImages: 10000,
    ood: true,
    archive: 'imagenetv2-matched-frequency.tar.gz',
    download: 'https://s3-us-west-2.amazonaws.com/imagenetv2public/imagenetv2-matched-frequency.tar.gz',
    folderHint: 'the folder that holds 0/, 1/, …, 999/ (imagenetv2-matched-frequency-format-val/)',
  },
  {
    name: 'imagenet-sketch',
    title: 'ImageNet-Sketch',
    layout: 'wnid',
    classes: wnidClasses(IMAGENET_1K_PAIRS),
    expectedImages: 50889,
    ood: true,
    archive: 'ImageNet-Sketch.zip',
    download: 'https://github.com/HaohanWang/ImageNet-Sketch',
    folderHint: 'the folder that holds n01440764/, …, n15075141/ (sketch/)',
  },
  {
    name: 'imagenet',
    title: 'ImageNet',
    layout: 'wnid',
    classes: wnidClasses(IMAGENET_1K_PAIRS),
    expectedImages: 50000,
    ood: false,
    archive: 'ILSVRC2012_img_val.tar (its 50,000 images are flat: sort them into wnid folders first)',
    download: 'https://image-net.org/download.php',
    folderHint: 'the validation set sorted into n01440764/, …, n15075141/ (one folder per class)',
  },
];

const BY_NAME: ReadonlyMap<string, DatasetSpec> = new Map(SPECS.map((s) => [s.name, Object.freeze(s)]));

export function isDatasetName(name: string): name is DatasetName {
  return BY_NAME.has(name);
}

/** The registry entry of a dataset name (the config's enum guarantees a known name). */
export function getDataset(name: DatasetName): DatasetSpec {
  const spec = BY_NAME.get(name);
  if (spec === undefined) throw new Error(`dataset registry: no entry for "${name}" (DATASET_NAMES and SPECS disagree)`);
  return spec;
}

/** Every dataset, in DATASET_NAMES order. */
export function allDatasets(): readonly DatasetSpec[] {
  return DATASET_NAMES.map(getDataset);
}

/** Class names in label order: what the text side of the model classifies into. */
export function datasetClassnames(name: DatasetName): readonly string[] {
  let names = CLASSNAMES.get(name);
  if (names === undefined) {
    names = Object.freeze(getDataset(name).classes.map((c) => c.name));
    CLASSNAMES.set(name, names);
  }
  return names;
}

const CLASSNAMES = new Map<DatasetName, readonly string[]>();

/**
 * The class names of a stored run's config (`config.json` of a run folder, a shard): its `dataset`, or
 * ImageNet-A for folders written before the key existed.
 */
export function classnamesOfConfig(config: { readonly dataset?: unknown }): readonly string[] {
  const name = typeof config.dataset === 'string' && isDatasetName(config.dataset) ? config.dataset : 'imagenet-a';
  return datasetClassnames(name);
}
