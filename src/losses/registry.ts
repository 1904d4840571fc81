import { TptError } from '../errors.js';
import { crossentropyHard1Loss } from './crossentropy-hard1.js';
import { crossentropyHard5Loss } from './crossentropy-hard5.js';
import { crossentropySoftLoss } from './crossentropy-soft.js';
import { defaultTptLoss } from './default-tpt.js';
import { patchLoss1 } from './patch-loss1.js';
import { patchLoss2 } from './patch-loss2.js';
import { patchLoss3 } from './patch-loss3.js';
import { patchLoss4 } from './patch-loss4.js';
import { patchLoss5 } from './patch-loss5.js';
import { patchLoss6 } from './patch-loss6.js';
import type { LossContext, LossFn } from './types.js';
import {
  checkAllViewsSelection,
  checkAugmentedViewsSelection,
  checkGroupsReshape,
  checkLoopedPatchGroups,
  checkPatchVote,
} from './validate.js';

export type { LossContext, LossFn } from './types.js';

export interface LossEntry {
  fn: LossFn;
  /** One line for help texts and run banners. */
  description: string;
  /** Why this loss cannot run with this config and view count (and what to change), or undefined. */
  validate: (ctx: LossContext, viewCount: number) => string | undefined;
}

/** The seed's ten losses under the names its `parse_loss` accepts (also the `loss` config values). */
export const LOSSES = {
  defaultTPT: {
    fn: defaultTptLoss,
    description: 'TPT: entropy of the mean prediction over the int(V·selection_p_all) most confident views',
    validate: checkAllViewsSelection,
  },
  patch_loss1: {
    fn: patchLoss1,
    description: "cross entropy of the original view against the patches' entropy-weighted class distribution",
    validate: (ctx, viewCount) => checkPatchVote('patch_loss1', ctx, viewCount),
  },
  patch_loss2: {
    fn: patchLoss2,
    description: "cross entropy of the original view against the patches' entropy-weighted most frequent class",
    validate: (ctx, viewCount) => checkPatchVote('patch_loss2', ctx, viewCount),
  },
  patch_loss3: {
    fn: patchLoss3,
    description: 'sum of the groups\' average entropies weighted by their normalised inverse entropy',
    validate: checkLoopedPatchGroups,
  },
  patch_loss4: {
    fn: patchLoss4,
    description: 'the lowest average entropy among the original image and its patches',
    validate: checkLoopedPatchGroups,
  },
  patch_loss5: {
    fn: patchLoss5,
    description: 'entropy of the groups\' log-probabilities averaged with inverse-entropy weights',
    validate: checkGroupsReshape,
  },
  patch_loss6: {
    fn: patchLoss6,
    description: "entropy of the groups' log-probabilities averaged with exp(−alpha·entropy) weights",
    validate: checkGroupsReshape,
  },
  crossentropy_soft: {
    fn: crossentropySoftLoss,
    description: 'cross entropy of the original view against softmax of the confident augmented views\' mean',
    validate: checkAugmentedViewsSelection,
  },
  crossentropy_hard1: {
    fn: crossentropyHard1Loss,
    description: "cross entropy of the original view against the confident augmented views' top class",
    validate: checkAugmentedViewsSelection,
  },
  crossentropy_hard5: {
    fn: crossentropyHard5Loss,
    description: "cross entropy of the original view against the confident augmented views' normalised top-5 logits",
    validate: checkAugmentedViewsSelection,
  },
} as const satisfies Record<string, LossEntry>;

export type LossName = keyof typeof LOSSES;

/** The loss names as a non-empty tuple, for `z.enum(LOSS_NAMES)`. */
export const LOSS_NAMES = Object.keys(LOSSES) as [LossName, ...LossName[]];

export function isLossName(name: string): name is LossName {
  return Object.prototype.hasOwnProperty.call(LOSSES, name);
}

/**
 * Throws a TptError (CONFIG_INVALID) when `name` cannot work with this configuration and view count, where
 * the seed would produce NaN losses or crash mid-run. The one place this check lives: the config check
 * calls it with the formula's view count, the coordinator with the augmenter's actual one, bench with its own.
 */
export function assertLossConfig(name: LossName, ctx: LossContext, viewCount: number, options: { hint?: string } = {}): void {
  const problem = LOSSES[name].validate(ctx, viewCount);
  if (problem !== undefined && problem !== '') {
    throw new TptError('CONFIG_INVALID', `config: loss ${name} cannot run with ${viewCount} views per image: ${problem}`, {
      hint: options.hint ?? 'Raise selection_p_all / selection_p_patch or the number of views (n_aug, n_patches), or choose another loss.',
    });
  }
}
