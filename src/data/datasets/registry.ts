/**
 * The test sets a run can use (config `dataset`), as a registry like the losses': one entry per dataset. An
 * entry says everything the rest of the tool needs to know about its set, so that nothing outside this
 * folder names a dataset:
 *   - how its samples are listed (`listing`): a folder tree of class folders (the ImageNet sets), a CoOp
 *     split file (`split_zhou_*.json`, eight of the ten cross-dataset sets), or FGVC-Aircraft's text files;
 *   - its class names in label order, from the data files beside this one (each names its source);
 *   - its views rule (TPT's `augmix = len(set_id) > 1`), its title and paper column, its benchmark table,
 *     its published size and where to get it.
 * `openDataset` (../dataset.ts) lists an entry's samples and hands the entry on with them, so the run, the
 * summary, the report and the bench read these facts from the opened dataset.
 *
 * ImageNet sets: every class knows its WordNet id and the folder that holds its images. Folders are WordNet
 * ids everywhere except ImageNet-V2, whose folders are named `0` … `999` after the ImageNet class index: the
 * label of folder `10` is 10, although sorting the folder names as strings (as ImageFolder does) puts `10`
 * before `2`. The TPT code undoes that sort with a mask (`imagenet_v_mask`); here the label comes from the
 * folder's number, so no mask is needed.
 *
 * Cross-dataset sets (azshue/TPT data/fewshot_datasets.py, `build_fewshot_dataset`, and CoOp's DATASETS.md,
 * KaiyangZhou/CoOp@ff61507): the label is the split entry's integer and the prompt's class name is TPT's list
 * (data/cls_to_names.py) at that index, never the name stored in the entry.
 */
import {
  CALTECH101_CLASSNAMES,
  DTD_CLASSNAMES,
  EUROSAT_CLASSNAMES,
  FGVC_AIRCRAFT_CLASSNAMES,
  FLOWERS102_CLASSNAMES,
  FOOD101_CLASSNAMES,
  OXFORD_PETS_CLASSNAMES,
  STANFORD_CARS_CLASSNAMES,
  SUN397_CLASSNAMES,
  UCF101_CLASSNAMES,
} from './fine-grained-data.js';
import { IMAGENET_1K_CLIP_NAMES, IMAGENET_1K_WNIDS } from './imagenet-1k-data.js';
import { IMAGENET_A_SEED_PAIRS } from './imagenet-a-data.js';
import { IMAGENET_R_WNIDS } from './imagenet-subsets-data.js';

export const DATASET_NAMES = [
  'imagenet-a',
  'imagenet-r',
  'imagenet-v2',
  'imagenet-sketch',
  'imagenet',
  'flowers102',
  'dtd',
  'oxford-pets',
  'stanford-cars',
  'ucf101',
  'caltech101',
  'food101',
  'sun397',
  'fgvc-aircraft',
  'eurosat',
] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** The seed's dataset: the config's default, and the dataset of run folders written before `dataset` existed. */
export const DEFAULT_DATASET: DatasetName = 'imagenet-a';

/** Which table of the TPT paper a set belongs to: Table 1 (natural distribution shift) or Table 2. */
export const BENCHMARKS = ['natural-shift', 'cross-dataset'] as const;
export type Benchmark = (typeof BENCHMARKS)[number];

/** `wnid`: one folder per class named by its WordNet id; `class-index`: folders `0` … `n-1`, the label itself. */
export type FolderLayout = 'wnid' | 'class-index';

/**
 * How a dataset's test samples are found on disk.
 * - `folder-tree`: ImageFolder over class folders (the ImageNet sets).
 * - `split-json`: CoOp's `split_zhou_<X>.json`, `{"train", "val", "test"}` of `[relative path, label, name]`,
 *   the paths relative to the image folder `imageDir` of CoOp's dataset folder (`''`: the folder itself).
 *   `rootMarker`: an entry CoOp's dataset folder holds, by which `tpt dataset extract` finds it.
 * - `aircraft-variants`: FGVC-Aircraft's `images_variant_test.txt` ("<id> <variant>" per line) and
 *   `variants.txt` (the variants in label order), images `images/<id>.jpg` (TPT's `Aircraft` class).
 */
export type SampleListing =
  | { readonly kind: 'folder-tree'; readonly folders: FolderLayout }
  | { readonly kind: 'split-json'; readonly splitFile: string; readonly imageDir: string; readonly rootMarker: string }
  | { readonly kind: 'aircraft-variants'; readonly splitFile: string; readonly variantsFile: string; readonly imageDir: string; readonly rootMarker: string };

export interface DatasetClass {
  /** Index in the dataset's class list; the logits' column for this class. */
  readonly label: number;
  /** Class name as it appears in the prompts, e.g. `stingray`. */
  readonly name: string;
  /** ImageNet sets: the WordNet id, e.g. `n01498041`. */
  readonly wnid?: string;
  /** Folder-tree sets: the folder holding this class's images (the wnid, or the label as a decimal for `class-index`). */
  readonly folder?: string;
}

export interface DatasetSpec {
  readonly name: DatasetName;
  /** As people write it: `ImageNet-A`, `Oxford-IIIT Pets`. */
  readonly title: string;
  /** The paper table's column header: `ImageNet-A`, `Pets`. */
  readonly column: string;
  readonly benchmark: Benchmark;
  /** TPT's `--test_sets` id (`A`, `Flower102`, …): its views rule is read from it. */
  readonly tptSetId: string;
  readonly listing: SampleListing;
  /** In label order. */
  readonly classes: readonly DatasetClass[];
  /** Test images in the published dataset (`tpt dataset verify` compares). */
  readonly expectedImages: number;
  /** In Table 1's "OOD Average": the ImageNet variants, out of distribution for a model trained on ImageNet. */
  readonly ood: boolean;
  /** AugMix on the augmented views when the config's `augmix` is null (TPT: `augmix=len(set_id)>1`). */
  readonly augmix: boolean;
  /** The config key a user sets to this dataset's folder. */
  readonly pathKey: 'imagenet_a_path' | 'dataset_path';
  /** What the download is called and where it comes from. */
  readonly archive: string;
  readonly download: string;
  /** What the folder to point the path key at looks like. */
  readonly folderHint: string;
}

/** TPT's views rule, `AugMixAugmenter(..., augmix=len(set_id)>1)` in azshue/TPT tpt_classification.py. */
function tptAugmix(tptSetId: string): boolean {
  return tptSetId.length > 1;
}

function wnidClasses(pairs: readonly (readonly [string, string])[]): DatasetClass[] {
  return pairs.map(([wnid, name], label) => Object.freeze({ label, wnid, name, folder: wnid }));
}

function namedClasses(names: readonly string[]): DatasetClass[] {
  return names.map((name, label) => Object.freeze({ label, name }));
}

const IMAGENET_1K_PAIRS: readonly (readonly [string, string])[] = IMAGENET_1K_WNIDS.map((wnid, i) => [wnid, IMAGENET_1K_CLIP_NAMES[i] as string]);
const CLIP_NAME_BY_WNID: ReadonlyMap<string, string> = new Map(IMAGENET_1K_PAIRS);

type SpecInput = Omit<DatasetSpec, 'augmix' | 'pathKey'>;

function naturalShift(spec: Omit<SpecInput, 'benchmark'>): DatasetSpec {
  return { ...spec, benchmark: 'natural-shift', augmix: tptAugmix(spec.tptSetId), pathKey: spec.name === DEFAULT_DATASET ? 'imagenet_a_path' : 'dataset_path' };
}

/** A CoOp split-file set: the split file sits in CoOp's dataset folder, beside the image folder `imageDir`. */
function crossDataset(spec: Omit<SpecInput, 'benchmark' | 'ood' | 'listing'> & { readonly splitFile: string; readonly imageDir: string; readonly rootMarker?: string }): DatasetSpec {
  const { splitFile, imageDir, rootMarker, ...rest } = spec;
  const listing = { kind: 'split-json', splitFile, imageDir, rootMarker: rootMarker ?? imageDir } as const;
  return { ...rest, benchmark: 'cross-dataset', ood: false, augmix: tptAugmix(spec.tptSetId), pathKey: 'dataset_path', listing };
}

const COOP_DATASETS = 'https://github.com/KaiyangZhou/CoOp/blob/main/DATASETS.md';

const SPECS: readonly DatasetSpec[] = [
  naturalShift({
    name: 'imagenet-a',
    title: 'ImageNet-A',
    column: 'ImageNet-A',
    tptSetId: 'A',
    listing: { kind: 'folder-tree', folders: 'wnid' },
    classes: wnidClasses(IMAGENET_A_SEED_PAIRS),
    expectedImages: 7500,
    ood: true,
    archive: 'imagenet-a.tar',
    download: 'https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar',
    folderHint: 'the folder that holds n01498041/, n01531178/, …',
  }),
  naturalShift({
    name: 'imagenet-r',
    title: 'ImageNet-R',
    column: 'ImageNet-R',
    tptSetId: 'R',
    listing: { kind: 'folder-tree', folders: 'wnid' },
    classes: wnidClasses(IMAGENET_R_WNIDS.map((wnid) => [wnid, CLIP_NAME_BY_WNID.get(wnid) as string])),
    expectedImages: 30000,
    ood: true,
    archive: 'imagenet-r.tar',
    download: 'https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar',
    folderHint: 'the folder that holds n01443537/, n01484850/, …',
  }),
  naturalShift({
    name: 'imagenet-v2',
    title: 'ImageNet-V2',
    column: 'ImageNet-V2',
    tptSetId: 'V',
    listing: { kind: 'folder-tree', folders: 'class-index' },
    classes: IMAGENET_1K_PAIRS.map(([wnid, name], label) => Object.freeze({ label, wnid, name, folder: String(label) })),
    expectedImages: 10000,
    ood: true,
    archive: 'imagenetv2-matched-frequency.tar.gz',
    download: 'https://s3-us-west-2.amazonaws.com/imagenetv2public/imagenetv2-matched-frequency.tar.gz',
    folderHint: 'the folder that holds 0/, 1/, …, 999/ (imagenetv2-matched-frequency-format-val/)',
  }),
  naturalShift({
    name: 'imagenet-sketch',
    title: 'ImageNet-Sketch',
    column: 'ImageNet-Sketch',
    tptSetId: 'K',
    listing: { kind: 'folder-tree', folders: 'wnid' },
    classes: wnidClasses(IMAGENET_1K_PAIRS),
    expectedImages: 50889,
    ood: true,
    archive: 'ImageNet-Sketch.zip',
    download: 'https://github.com/HaohanWang/ImageNet-Sketch',
    folderHint: 'the folder that holds n01440764/, …, n15075141/ (sketch/)',
  }),
  naturalShift({
    name: 'imagenet',
    title: 'ImageNet',
    column: 'ImageNet',
    tptSetId: 'I',
    listing: { kind: 'folder-tree', folders: 'wnid' },
    classes: wnidClasses(IMAGENET_1K_PAIRS),
    expectedImages: 50000,
    ood: false,
    archive: 'ILSVRC2012_img_val.tar (its 50,000 images are flat: sort them into wnid folders first)',
    download: 'https://image-net.org/download.php',
    folderHint: 'the validation set sorted into n01440764/, …, n15075141/ (one folder per class)',
  }),
  crossDataset({
    name: 'flowers102',
    title: 'Oxford Flowers-102',
    column: 'Flowers',
    tptSetId: 'Flower102',
    splitFile: 'split_zhou_OxfordFlowers.json',
    imageDir: 'jpg',
    classes: namedClasses(FLOWERS102_CLASSNAMES),
    expectedImages: 2463,
    archive: '102flowers.tgz + split_zhou_OxfordFlowers.json',
    download: COOP_DATASETS,
    folderHint: "CoOp's oxford_flowers/ (jpg/ and split_zhou_OxfordFlowers.json), or its jpg/ with split_file set",
  }),
  crossDataset({
    name: 'dtd',
    title: 'DTD',
    column: 'DTD',
    tptSetId: 'DTD',
    splitFile: 'split_zhou_DescribableTextures.json',
    imageDir: 'images',
    classes: namedClasses(DTD_CLASSNAMES),
    expectedImages: 1692,
    archive: 'dtd-r1.0.1.tar.gz + split_zhou_DescribableTextures.json',
    download: COOP_DATASETS,
    folderHint: "CoOp's dtd/ (images/ and split_zhou_DescribableTextures.json), or its images/ with split_file set",
  }),
  crossDataset({
    name: 'oxford-pets',
    title: 'Oxford-IIIT Pets',
    column: 'Pets',
    tptSetId: 'Pets',
    splitFile: 'split_zhou_OxfordPets.json',
    imageDir: 'images',
    classes: namedClasses(OXFORD_PETS_CLASSNAMES),
    expectedImages: 3669,
    archive: 'images.tar.gz + split_zhou_OxfordPets.json',
    download: COOP_DATASETS,
    folderHint: "CoOp's oxford_pets/ (images/ and split_zhou_OxfordPets.json), or its images/ with split_file set",
  }),
  crossDataset({
    name: 'stanford-cars',
    title: 'Stanford Cars',
    column: 'Cars',
    tptSetId: 'Cars',
    splitFile: 'split_zhou_StanfordCars.json',
    imageDir: '',
    rootMarker: 'cars_test',
    classes: namedClasses(STANFORD_CARS_CLASSNAMES),
    expectedImages: 8041,
    archive: 'cars_test.tgz + split_zhou_StanfordCars.json',
    download: COOP_DATASETS,
    folderHint: "CoOp's stanford_cars/ (cars_test/, cars_train/ and split_zhou_StanfordCars.json)",
  }),
  crossDataset({
    name: 'ucf101',
    title: 'UCF101',
    column: 'UCF101',
    tptSetId: 'UCF101',
    splitFile: 'split_zhou_UCF101.json',
    imageDir: 'UCF-101-midframes',
    classes: namedClasses(UCF101_CLASSNAMES),
    expectedImages: 3783,
    archive: 'UCF-101-midframes.zip + split_zhou_UCF101.json',
    download: COOP_DATASETS,
    folderHint: "CoOp's ucf101/ (UCF-101-midframes/ and split_zhou_UCF101.json), or UCF-101-midframes/ with split_file set",
  }),
  crossDataset({
    name: 'caltech101',
    title: 'Caltech101',
    column: 'Caltech',
    tptSetId: 'Caltech101',
    splitFile: 'split_zhou_Caltech101.json',
    imageDir: '101_ObjectCategories',
    classes: namedClasses(CALTECH101_CLASSNAMES),
    expectedImages: 2465,
    archive: '101_ObjectCategories.tar.gz + split_zhou_Caltech101.json',
    download: COOP_DATASETS,
    folderHint: "CoOp's caltech-101/ (101_ObjectCategories/ and split_zhou_Caltech101.json), or 101_ObjectCategories/ with split_file set",
  }),
  crossDataset({
    name: 'food101',
    title: 'Food-101',
    column: 'Food101',
    tptSetId: 'Food101',
    splitFile: 'split_zhou_Food101.json',
    imageDir: 'images',
    classes: namedClasses(FOOD101_CLASSNAMES),
    expectedImages: 30300,
    archive: 'food-101.tar.gz + split_zhou_Food101.json',
    download: COOP_DATASETS,
    folderHint: "CoOp's food-101/ (images/ and split_zhou_Food101.json), or its images/ with split_file set",
  }),
  crossDataset({
    name: 'sun397',
    title: 'SUN397',
    column: 'SUN397',
    tptSetId: 'SUN397',
    splitFile: 'split_zhou_SUN397.json',
    imageDir: 'SUN397',
    classes: namedClasses(SUN397_CLASSNAMES),
    expectedImages: 19850,
    archive: 'SUN397.tar.gz + split_zhou_SUN397.json',
    download: COOP_DATASETS,
    folderHint: "CoOp's sun397/ (SUN397/ and split_zhou_SUN397.json), or SUN397/ itself with split_file set",
  }),
  {
    name: 'fgvc-aircraft',
    title: 'FGVC-Aircraft',
    column: 'Aircraft',
    benchmark: 'cross-dataset',
    tptSetId: 'Aircraft',
    listing: { kind: 'aircraft-variants', splitFile: 'images_variant_test.txt', variantsFile: 'variants.txt', imageDir: 'images', rootMarker: 'variants.txt' },
    classes: namedClasses(FGVC_AIRCRAFT_CLASSNAMES),
    expectedImages: 3333,
    ood: false,
    augmix: tptAugmix('Aircraft'),
    pathKey: 'dataset_path',
    archive: 'fgvc-aircraft-2013b.tar.gz',
    download: 'https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz',
    folderHint: 'fgvc-aircraft-2013b/data/ (images/, variants.txt, images_variant_test.txt; CoOp calls it fgvc_aircraft/)',
  },
  crossDataset({
    name: 'eurosat',
    title: 'EuroSAT',
    column: 'EuroSAT',
    tptSetId: 'eurosat',
    splitFile: 'split_zhou_EuroSAT.json',
    imageDir: '2750',
    classes: namedClasses(EUROSAT_CLASSNAMES),
    expectedImages: 8100,
    archive: 'EuroSAT.zip + split_zhou_EuroSAT.json',
    download: COOP_DATASETS,
    folderHint: "CoOp's eurosat/ (2750/ and split_zhou_EuroSAT.json), or 2750/ itself with split_file set",
  }),
];

/** Each benchmark's datasets in the paper's column order (Table 1, Table 2). */
const PAPER_COLUMNS: Readonly<Record<Benchmark, readonly DatasetName[]>> = {
  'natural-shift': ['imagenet', 'imagenet-a', 'imagenet-v2', 'imagenet-r', 'imagenet-sketch'],
  'cross-dataset': ['flowers102', 'dtd', 'oxford-pets', 'stanford-cars', 'ucf101', 'caltech101', 'food101', 'sun397', 'fgvc-aircraft', 'eurosat'],
};

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

/** A benchmark's datasets in its paper table's column order (`tpt report --table1`, `--table2`). */
export function benchmarkDatasets(benchmark: Benchmark): readonly DatasetSpec[] {
  return PAPER_COLUMNS[benchmark].map(getDataset);
}

/** The dataset a stored config names (`config.json` of a run folder, a shard): the seed's for folders written before the key existed. */
export function datasetOfConfig(config: { readonly dataset?: unknown }): DatasetName {
  return typeof config.dataset === 'string' && isDatasetName(config.dataset) ? config.dataset : DEFAULT_DATASET;
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

/** The class names of a stored run's config (see `datasetOfConfig`). */
export function classnamesOfConfig(config: { readonly dataset?: unknown }): readonly string[] {
  return datasetClassnames(datasetOfConfig(config));
}

/** The AugMix setting a run uses: the config's when set, else the dataset's rule. */
export function resolvedAugmix(config: { readonly augmix: boolean | null; readonly dataset: DatasetName }): boolean {
  return config.augmix ?? getDataset(config.dataset).augmix;
}

/** The registry as one line per dataset, for the config reference and `--help` (name, classes, table). */
export function datasetChoicesText(): string {
  return allDatasets()
    .map((s) => `${s.name} (${s.title}, ${s.classes.length} classes)`)
    .join(', ');
}
