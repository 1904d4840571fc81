/**
 * What listing a dataset produces, whatever its layout on disk (folder tree, split file): the samples with
 * their labels, one count per class, and every problem found. The listers (folder-tree.ts, split-file.ts)
 * fill it; ../dataset.ts picks the lister the registry entry names and decides what is fatal.
 */
import type { DatasetName, DatasetSpec } from './registry.js';

/** torchvision's IMG_EXTENSIONS (ImageFolder accepts a file when its lower-cased name ends with one). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'] as const;

export interface DatasetSample {
  /**
   * Path relative to the listing's `imageRoot`, with forward slashes; also the sample's stable identity. For a
   * split-file set it is the split entry's path, the same in CoOp's and TPT's layouts.
   */
  readonly file: string;
  /** Label: index in the dataset's class list. */
  readonly target: number;
  /** ImageNet sets: the class's WordNet id. */
  readonly wnid?: string;
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
  /** A split entry whose image file is not there. */
  | 'missing_image'
  /** A split file without samples in its test split. */
  | 'empty_split'
  /** The split file cannot be read (`split_not_found`) or is not this dataset's (`foreign_split`). */
  | 'split_not_found'
  | 'foreign_split'
  /** `verify` of a folder that is not the dataset at all: `not_imagenet_a` for the seed's ImageNet-A (as before), else `not_dataset`. */
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
  readonly label: number;
  readonly name: string;
  /** ImageNet sets: the WordNet id. */
  readonly wnid?: string;
  /** Folder-tree sets: the class's folder (its wnid, or for ImageNet-V2 its label). */
  readonly folder?: string;
  /** Valid image files found (0 for a missing or empty class). */
  readonly images: number;
  /** Folder-tree sets: its folder exists; split-file sets: the split lists it. */
  readonly present: boolean;
}

/** A lister's result. */
export interface SampleList {
  /** The folder the samples' `file` paths are relative to (the root itself, or CoOp's image folder in it). */
  readonly imageRoot: string;
  /** Split-file sets: the split file read. */
  readonly splitFile?: string;
  readonly samples: readonly DatasetSample[];
  /** One entry per class of the dataset, in label order. */
  readonly classes: readonly ClassCount[];
  readonly problems: readonly DatasetProblem[];
}

export interface DatasetListing extends SampleList {
  /** The root folder as given. */
  readonly root: string;
  readonly dataset: DatasetName;
  /** The registry entry: class names, title, views rule, benchmark, … for the run, summary, report and bench. */
  readonly spec: DatasetSpec;
  readonly complete: boolean;
}

export interface ListOptions {
  /** Missing or empty classes (and missing split images) are warnings, not errors (config `allow_partial_dataset`). */
  readonly allowPartial: boolean;
  /** Split-file sets: the split file (config `split_file`); undefined or null: looked up in the dataset folder. */
  readonly splitFile?: string | null | undefined;
}

export function problem(kind: ProblemKind, severity: 'error' | 'warning', path: string, message: string): DatasetProblem {
  return { kind, severity, path, message };
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

/** Where to point the config, and how to get the folder. */
export function extractHint(spec: DatasetSpec): string {
  return `point ${spec.pathKey} at ${spec.folderHint}; \`tpt dataset extract <archive> --dataset ${spec.name} --out <dir>\` unpacks ${spec.archive}`;
}

/** Missing or empty classes: errors unless partial datasets are allowed. */
export function classProblems(
  classes: readonly ClassCount[],
  allowPartial: boolean,
  says: { readonly missing: (c: ClassCount) => string; readonly empty: (c: ClassCount) => string },
): DatasetProblem[] {
  const severity = allowPartial ? 'warning' : 'error';
  const problems: DatasetProblem[] = [];
  for (const c of classes) {
    if (!c.present) problems.push(problem('missing_class', severity, c.folder ?? String(c.label), says.missing(c)));
    else if (c.images === 0) problems.push(problem('empty_class', severity, c.folder ?? String(c.label), says.empty(c)));
  }
  return problems;
}
