import { TptError } from '../errors.js';
import type { LossContext } from '../losses/types.js';
import { METHOD_SPECS, assertMethodCanRun, assertMethodConfig } from '../tta/methods/names.js';
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

/**
 * An online method carries its state along the stream, so a shard adapts on its own slice only and its results
 * are not those of one unsharded run: refused unless `online_shards: independent` says that is meant.
 */
function checkOnlineShards(config: TptConfig): void {
  if (METHOD_SPECS[config.method].kind !== 'online') {
    if (config.online_shards !== null) {
      throw new TptError('CONFIG_INVALID', `config: online_shards: applies to the online methods (tda, dmn-zs, boostadapter) only, not ${config.method}; remove it`);
    }
    return;
  }
  if (config.shard !== null && config.online_shards !== 'independent') {
    throw new TptError(
      'CONFIG_INVALID',
      `config: shard: ${config.method} is an online method: over shard ${config.shard} it would adapt on its slice of the stream only, which changes its results`,
      { hint: "Run it unsharded, or set online_shards to 'independent' (--set online_shards=independent) to accept shards that adapt independently." },
    );
  }
}

export function checkConfigConsistency(config: TptConfig): void {
  if (config.augmenter === 'PatchAugmenter' && config.n_patches < 1) {
    throw new TptError('CONFIG_INVALID', 'config: n_patches: PatchAugmenter needs n_patches ≥ 1 (a perfect square such as 4, 9 or 16), got 0', {
      hint: 'Set n_patches, e.g. --set n_patches=16 (the seed pairs it with n_aug 4), or use augmenter "AugmenterTPT".',
    });
  }
  if (config.shard !== null) parseShard(config.shard);
  checkOnlineShards(config);
  const spec = getDataset(config.dataset);
  if (spec.pathKey === 'dataset_path' && config.dataset_path === null) {
    // imagenet_a_path names the seed's dataset's folder, never this one's
    throw new TptError('CONFIG_INVALID', `config: dataset: ${config.dataset} needs dataset_path (imagenet_a_path names ${getDataset(DEFAULT_DATASET).title}'s folder)`, {
      hint: `Set dataset_path to ${spec.folderHint}, e.g. --set dataset_path=/data/${config.dataset}.`,
    });
  }
  if (config.templates !== null) checkTemplates(config);
  if (config.split_file !== null && spec.listing.kind === 'folder-tree') {
    throw new TptError('CONFIG_INVALID', `config: split_file: ${spec.title} is listed by its class folders, not by a split file`, {
      hint: 'Set split_file to null (it is for the cross-dataset sets, e.g. a split_zhou_*.json).',
    });
  }
  assertMethodConfig(config, defaultConfig());
  assertMethodCanRun(config, lossContextOf(config), viewCountFor(config));
}

/**
 * `templates` (a prompt-template ensemble) is a fixed text classifier. A method that tunes a prompt's context
 * has nothing to tune in it, so the only prompt-tuning use is the zero-shot ensemble itself (method tpt,
 * tta_steps 0: base and TPT scores both the ensemble's); methods that never backpropagate into the text
 * (zero, mta, the online ones) take it as their text classifier.
 */
function checkTemplates(config: TptConfig): void {
  const spec = METHOD_SPECS[config.method];
  if (!spec.tunesPrompt) return;
  if (config.method !== 'tpt') {
    throw new TptError('CONFIG_INVALID', `config: templates: ${config.templates} with method ${config.method}: ${spec.title} tunes a prompt's context, which a fixed template ensemble does not have`, {
      hint: 'For the zero-shot ensemble use method tpt with tta_steps 0 (zero and mta take templates as their text classifier), or set templates to null.',
    });
  }
  if (config.tta_steps > 0) {
    throw new TptError('CONFIG_INVALID', `config: templates: ${config.templates} with tta_steps ${config.tta_steps}: a template ensemble is a fixed classifier with no context to tune`, {
      hint: 'Set tta_steps to 0 for the zero-shot ensemble (--set tta_steps=0), or templates to null to tune the prompt.',
    });
  }
}
