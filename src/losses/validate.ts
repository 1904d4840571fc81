import { selectionCount } from './selection-count.js';
import type { LossContext } from './types.js';

/**
 * Configuration checks for the losses: each returns a message saying what cannot work and what to change,
 * or undefined. They run before a run starts, where the seed would instead produce NaN losses (an empty
 * selection) or die halfway with an IndexError/RuntimeError.
 */

/** The smallest p with 4 decimals for which int(n·p) ≥ 1 (1/n itself can round to a p that keeps 0). */
function smallestWorkingFraction(n: number): number {
  let p = Math.ceil(1e4 / n) / 1e4;
  while (selectionCount(n, p) < 1) p = Math.round((p + 1e-4) * 1e4) / 1e4;
  return p;
}

/** The seed keeps int(n·p) rows; zero rows makes avg_entropy NaN (logsumexp of nothing minus log 0). */
export function checkSelectionKeepsRows(what: string, n: number, key: string, p: number): string | undefined {
  if (!(p > 0 && p <= 1)) return `${key}=${p} must be in (0, 1]`;
  if (selectionCount(n, p) >= 1) return undefined;
  return (
    `${key}=${p} keeps int(${n}·${p}) = 0 of the ${n} ${what}, so the loss is NaN; ` +
    `raise ${key} to at least ${smallestWorkingFraction(n)} or use more views (n_aug)`
  );
}

/** defaultTPT: selection over all V views with selection_p_all. */
export function checkAllViewsSelection(ctx: LossContext, viewCount: number): string | undefined {
  return checkSelectionKeepsRows('views', viewCount, 'selection_p_all', ctx.selection_p_all);
}

/** Cross-entropy losses: view 0 is the reference, selection runs over the V − 1 views after it. */
export function checkAugmentedViewsSelection(ctx: LossContext, viewCount: number): string | undefined {
  if (viewCount < 2) return `the cross-entropy losses need the original view and at least one augmented view (got ${viewCount}); set n_aug ≥ 1`;
  return checkSelectionKeepsRows('augmented views (views 1..V−1)', viewCount - 1, 'selection_p_all', ctx.selection_p_all);
}

/** Every patch loss: `outputs.view(-1, n_aug + 1, C)` needs V to be a multiple of n_aug + 1. */
export function checkGroupsReshape(ctx: LossContext, viewCount: number): string | undefined {
  const groupSize = ctx.n_aug + 1;
  if (!Number.isInteger(ctx.n_aug) || ctx.n_aug < 0) return `n_aug=${ctx.n_aug} must be a non-negative integer`;
  if (viewCount % groupSize !== 0) {
    return (
      `the patch losses view the ${viewCount} views as groups of n_aug+1 = ${groupSize}, and ${viewCount} is not a multiple of ${groupSize}; ` +
      `use augmenter "PatchAugmenter", whose views come in groups of n_aug+1`
    );
  }
  return undefined;
}

/**
 * patch_loss1–4 loop over groups 0..n_patches. PatchAugmenter makes 1 + floor(√n_patches)² groups, so a
 * non-square n_patches (or views from another augmenter) leaves groups missing and the seed crashes with an
 * IndexError; each group also needs a non-empty selection.
 */
export function checkLoopedPatchGroups(ctx: LossContext, viewCount: number): string | undefined {
  const reshape = checkGroupsReshape(ctx, viewCount);
  if (reshape) return reshape;
  const groupSize = ctx.n_aug + 1;
  const groups = viewCount / groupSize;
  if (!Number.isInteger(ctx.n_patches) || ctx.n_patches < 0) return `n_patches=${ctx.n_patches} must be a non-negative integer`;
  if (groups < ctx.n_patches + 1) {
    const side = Math.floor(Math.sqrt(ctx.n_patches));
    const square = side * side;
    const why =
      square !== ctx.n_patches
        ? `n_patches=${ctx.n_patches} is not a perfect square, so PatchAugmenter crops only ${square} patches`
        : `the augmenter made ${groups} group(s) of ${groupSize} views, not n_patches+1 = ${ctx.n_patches + 1}`;
    return (
      `this loss loops over n_patches+1 = ${ctx.n_patches + 1} groups of n_aug+1 views but only ${groups} exist (${why}); ` +
      `use augmenter "PatchAugmenter" with a perfect-square n_patches (4, 9, 16, …)`
    );
  }
  return checkSelectionKeepsRows(`views of each group (n_aug+1)`, groupSize, 'selection_p_patch', ctx.selection_p_patch);
}

/** patch_loss1/2 compare the original image with the patches' vote, so at least one patch must exist. */
export function checkPatchVote(lossName: string, ctx: LossContext, viewCount: number): string | undefined {
  if (ctx.n_patches < 1) {
    return `${lossName} compares the original image with its patches' vote, and n_patches=${ctx.n_patches} gives no patches; set n_patches to 4, 9, 16, …`;
  }
  return checkLoopedPatchGroups(ctx, viewCount);
}
