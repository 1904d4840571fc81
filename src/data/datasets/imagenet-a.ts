/**
 * ImageNet-A's 200 classes (the registry's `imagenet-a` entry) under the names the seed's code uses.
 *
 * Label order: the seed's dict is sorted by WordNet id, and torchvision's ImageFolder numbers classes by
 * sorted folder name, so for the complete dataset "label = index in sorted-wnid order" and "label = index in
 * `classnames`" coincide. We always label by this list (never by the folders that happen to exist), which keeps
 * labels right for partial datasets too.
 */
import { TptError } from '../../errors.js';
import { type DatasetClass, getDataset } from './registry.js';

/** An ImageNet-A class: every one has its WordNet id, which is also its folder. */
export type ImageNetAClass = DatasetClass & { readonly wnid: string; readonly folder: string };

export const IMAGENET_A_CLASSES: readonly ImageNetAClass[] = Object.freeze(getDataset('imagenet-a').classes.map((c) => ({ ...c, wnid: c.wnid as string, folder: c.folder as string })));

/** Class names in label order (the seed's `ImageNetA.classnames`). */
export const IMAGENET_A_CLASSNAMES: readonly string[] = Object.freeze(IMAGENET_A_CLASSES.map((c) => c.name));

/** WordNet ids in label order. */
export const IMAGENET_A_WNIDS: readonly string[] = Object.freeze(IMAGENET_A_CLASSES.map((c) => c.wnid));

const LABEL_BY_WNID: ReadonlyMap<string, number> = new Map(IMAGENET_A_CLASSES.map((c) => [c.wnid, c.label]));

/** Whether `wnid` is one of the 200 ImageNet-A classes. */
export function isImageNetAWnid(wnid: string): boolean {
  return LABEL_BY_WNID.has(wnid);
}

/** Label (index in the 200-class list) of an ImageNet-A WordNet id; throws a TptError for any other id. */
export function wnidToLabel(wnid: string): number {
  const label = LABEL_BY_WNID.get(wnid);
  if (label === undefined) {
    throw new TptError('UNKNOWN_WNID', `"${wnid}" is not one of the 200 ImageNet-A WordNet ids`, {
      hint: 'ImageNet-A class folders are named like n01498041 (stingray); see src/data/datasets/imagenet-a-data.ts for the list',
    });
  }
  return label;
}
