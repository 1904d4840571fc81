import * as tf from '@tensorflow/tfjs-core';
import { avgEntropy, selectConfidentSamples } from './selection.js';
import type { LossContext } from './types.js';

/**
 * Pieces shared by the seed's patch losses (§8.4). The seed reshapes the [V, C] logits with
 * `output.view(-1, n_aug + 1, C)`: group g holds views g·(n_aug+1) … g·(n_aug+1)+n_aug, and in PatchAugmenter's
 * order group 0 is the original image with its n_aug augmentations, group p ≥ 1 is patch p with its own.
 */

/** outputs.view(-1, n_aug + 1, C)[group]: the n_aug + 1 rows of one group, as a slice (which has a gradient). */
export function groupRows(outputs: tf.Tensor2D, ctx: LossContext, group: number): tf.Tensor2D {
  const groupSize = ctx.n_aug + 1;
  return tf.slice(outputs, [group * groupSize, 0], [groupSize, outputs.shape[1]]);
}

/** outputs.view(-1, n_aug + 1, C) over ALL groups, as patch_loss5/6 use it. */
export function allGroups(outputs: tf.Tensor2D, ctx: LossContext): tf.Tensor3D {
  const groupSize = ctx.n_aug + 1;
  return tf.reshape(outputs, [-1, groupSize, outputs.shape[1]]); // [V, C] -> [G, n_aug+1, C]
}

export interface ConfidentGroups {
  /** Per looped group: its int((n_aug+1)·selection_p_patch) most confident rows, [k, C], with gradient. */
  selected: tf.Tensor2D[];
  /** avg_entropy of each group's selected rows, [n_patches + 1], with gradient. */
  entropies: tf.Tensor1D;
}

/**
 * The loop every patch_loss1–4 starts with:
 * `for i in range(0, args.n_patches + 1): select_confident_samples(outputs[i], p_patch); avg_entropy(...)`.
 * Quirk kept: the loop runs over n_patches + 1 groups as the CONFIG says, not over the groups the augmenter
 * made (1 + floor(√n_patches)²); when those differ the seed dies with an IndexError, which the loss
 * registry's validate() reports before a run instead.
 */
export function confidentGroups(outputs: tf.Tensor2D, ctx: LossContext): ConfidentGroups {
  const selected: tf.Tensor2D[] = [];
  const entropies: tf.Scalar[] = [];
  for (let group = 0; group < ctx.n_patches + 1; group++) {
    const rows = selectConfidentSamples(groupRows(outputs, ctx, group), ctx.selection_p_patch);
    selected.push(rows);
    entropies.push(avgEntropy(rows));
  }
  return { selected, entropies: tf.stack(entropies) as tf.Tensor1D };
}

/** torch.argmax over a row: the first index of the maximum. */
function firstArgmax(values: ArrayLike<number>, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best - from;
}

/**
 * torch.mode(values).values on CPU: the most frequent value; among equally frequent values the SMALLEST
 * wins (torch sorts the values and only replaces its candidate on a strictly larger count).
 */
export function torchMode(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  let mode = sorted[0] as number;
  let bestCount = 0;
  let runCount = 0;
  for (let i = 0; i < sorted.length; i++) {
    runCount++;
    if (i === sorted.length - 1 || sorted[i] !== sorted[i + 1]) {
      if (runCount > bestCount) {
        mode = sorted[i] as number;
        bestCount = runCount;
      }
      runCount = 0;
    }
  }
  return mode;
}

/**
 * select_most_frequent_class(torch.stack(selected)): per group, the predicted class (argmax of the softmax)
 * of each selected row, then torch.mode over the rows. Host integers: class choices carry no gradient.
 */
export function mostFrequentClassPerGroup(selected: readonly tf.Tensor2D[]): number[] {
  return selected.map((rows) => {
    const [count, classes] = rows.shape;
    // argmax of the probabilities, not of the logits, as the seed: rounding in exp can tie two close logits.
    const probabilities = tf.tidy(() => tf.softmax(rows).dataSync());
    const predicted: number[] = [];
    for (let r = 0; r < count; r++) predicted.push(firstArgmax(probabilities, r * classes, (r + 1) * classes));
    return torchMode(predicted);
  });
}

/**
 * The dictionary both weighted_* helpers build: weight 1/(entropy + 1e-6) per patch, summed per class in
 * order of first appearance. Quirk kept: every weight goes through `.item()`, so these are plain numbers and
 * NO gradient flows through them. The weights are float32 in torch (entropy + 1e-6 and its reciprocal are
 * float32 tensor ops) and the sums are Python float64, which Math.fround and JS numbers reproduce.
 */
export function weightedClassCounts(entropies: ArrayLike<number>, classes: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  const epsilon = Math.fround(1e-6);
  classes.forEach((cls, i) => {
    const weight = Math.fround(1 / Math.fround((entropies[i] as number) + epsilon));
    counts.set(cls, (counts.get(cls) ?? 0) + weight);
  });
  return counts;
}
