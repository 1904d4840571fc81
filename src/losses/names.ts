import { TptError } from '../errors.js';
import type { LossContext } from './types.js';
import {
  checkAllViewsSelection,
  checkAugmentedViewsSelection,
  checkGroupsReshape,
  checkLoopedPatchGroups,
  checkPatchVote,
} from './validate.js';

/**
 * The losses as configuration sees them: names, descriptions and checks, with no tensor code, so parsing
 * and checking a config never loads an engine. Their functions are in `registry.ts`.
 */

export interface LossSpec {
  /** One line for help texts and run banners. */
  description: string;
  /** Why this loss cannot run with this config and view count (and what to change), or undefined. */
  validate: (ctx: LossContext, viewCount: number) => string | undefined;
}

/** The seed's ten losses under the names its `parse_loss` accepts (also the `loss` config values). */
export const LOSS_SPECS = {
  defaultTPT: {
    description: 'TPT: entropy of the mean prediction over the int(V·selection_p_all) most confident views',
    validate: checkAllViewsSelection,
  },
  patch_loss1: {
    description: "cross entropy of the original view against the patches' entropy-weighted class distribution",
    validate: (ctx, viewCount) => checkPatchVote('patch_loss1', ctx, viewCount),
  },
  patch_loss2: {
    description: "cross entropy of the original view against the patches' entropy-weighted most frequent class",
    validate: (ctx, viewCount) => checkPatchVote('patch_loss2', ctx, viewCount),
  },
  patch_loss3: {
    description: 'sum of the groups\' average entropies weighted by their normalised inverse entropy',
    validate: checkLoopedPatchGroups,
  },
  patch_loss4: {
    description: 'the lowest average entropy among the original image and its patches',
    validate: checkLoopedPatchGroups,
  },
  patch_loss5: {
    description: 'entropy of the groups\' log-probabilities averaged with inverse-entropy weights',
    validate: checkGroupsReshape,
  },
  patch_loss6: {
    description: "entropy of the groups' log-probabilities averaged with exp(−alpha·entropy) weights",
    validate: checkGroupsReshape,
  },
  crossentropy_soft: {
    description: 'cross entropy of the original view against softmax of the confident augmented views\' mean',
    validate: checkAugmentedViewsSelection,
  },
  crossentropy_hard1: {
    description: "cross entropy of the original view against the confident augmented views' top class",
    validate: checkAugmentedViewsSelection,
  },
  crossentropy_hard5: {
    description: "cross entropy of the original view against the confident augmented views' normalised top-5 logits",
    validate: checkAugmentedViewsSelection,
  },
} as const satisfies Record<string, LossSpec>;

export type LossName = keyof typeof LOSS_SPECS;

/** The loss names as a non-empty tuple, for `z.enum(LOSS_NAMES)`. */
export const LOSS_NAMES = Object.keys(LOSS_SPECS) as [LossName, ...LossName[]];

export function isLossName(name: string): name is LossName {
  return Object.prototype.hasOwnProperty.call(LOSS_SPECS, name);
}

/**
 * Throws a TptError (CONFIG_INVALID) when `name` cannot work with this configuration and view count, where
 * the seed would produce NaN losses or crash mid-run. The one place this check lives: the config check
 * calls it with the formula's view count, the coordinator with the augmenter's actual one, bench with its own.
 */
export function assertLossConfig(name: LossName, ctx: LossContext, viewCount: number, options: { hint?: string } = {}): void {
  const problem = LOSS_SPECS[name].validate(ctx, viewCount);
  if (problem !== undefined && problem !== '') {
    throw new TptError('CONFIG_INVALID', `config: loss ${name} cannot run with ${viewCount} views per image: ${problem}`, {
      hint: options.hint ?? 'Raise selection_p_all / selection_p_patch or the number of views (n_aug, n_patches), or choose another loss.',
    });
  }
}
