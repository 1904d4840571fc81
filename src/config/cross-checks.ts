import { TptError } from '../errors.js';
import type { LossContext } from '../losses/types.js';
import { assertMethodCanRun, assertMethodConfig } from '../tta/methods/names.js';
import { defaultConfig, type TptConfig } from './schema.js';
import { parseShard } from '../data/sample-order.js';
import { DEFAULT_DATASET, getDataset } from '../data/datasets/registry.js';

/**
 * Checks that involve several keys, run before anything is loaded so that a run never dies on its first
 * sample over a setting: the augmenter's view count against the loss's selection (a selection that keeps
 * no view), the patch grid, the shard, the keys the chosen method does not use.
 */

/** Views per sample in the augmenters' order: view 0 (the original), then the augmented ones. */
export function viewCountFor(config: Pick<TptConfig, 'augmenter' | 'n_aug' | 'n_patches'>): number {
  if (config.augmenter === 'AugmenterTPT') return 1 + config.n_aug;
  // PatchAugmenter: the whole image and its n_aug copies, then each of the g×g patches and its n_aug copies.
  const grid = Math.floor(Math.sqrt(config.n_patches));
  return (1 + config.n_aug) * (1 + grid * grid);
}

export function lossContextOf(config: TptConfig): LossContext {
  return {
    n_aug: config.n_aug,
    n_patches: config.n_patches,
    selection_p_all: config.selection_p_all,
    selection_p_patch: config.selection_p_patch,
    alpha_exponential_weightening: config.alpha_exponential_weightening,
  };
}

export function checkConfigConsistency(config: TptConfig): void {
  if (config.augmenter === 'PatchAugmenter' && config.n_patches < 1) {
    throw new TptError('CONFIG_INVALID', 'config: n_patches: PatchAugmenter needs n_patches ≥ 1 (a perfect square such as 4, 9 or 16), got 0', {
      hint: 'Set n_patches, e.g. --set n_patches=16 (the seed pairs it with n_aug 4), or use augmenter "AugmenterTPT".',
    });
  }
  if (config.shard !== null) parseShard(config.shard);
  const spec = getDataset(config.dataset);
  if (spec.pathKey === 'dataset_path' && config.dataset_path === null) {
    // imagenet_a_path names the seed's dataset's folder, never this one's
    throw new TptError('CONFIG_INVALID', `config: dataset: ${config.dataset} needs dataset_path (imagenet_a_path names ${getDataset(DEFAULT_DATASET).title}'s folder)`, {
      hint: `Set dataset_path to ${spec.folderHint}, e.g. --set dataset_path=/data/${config.dataset}.`,
    });
  }
  if (config.split_file !== null && spec.listing.kind === 'folder-tree') {
    throw new TptError('CONFIG_INVALID', `config: split_file: ${spec.title} is listed by its class folders, not by a split file`, {
      hint: 'Set split_file to null (it is for the cross-dataset sets, e.g. a split_zhou_*.json).',
    });
  }
  assertMethodConfig(config, defaultConfig());
  assertMethodCanRun(config, lossContextOf(config), viewCountFor(config));
}
