import * as tf from '@tensorflow/tfjs-core';
import { logSoftmax } from './selection.js';
import { confidentGroups, mostFrequentClassPerGroup, weightedClassCounts } from './patch-common.js';
import type { LossContext } from './types.js';

/**
 * weighted_most_frequent_class: the class with the largest summed weight 1/(entropy + 1e-6).
 * Quirk kept: Python's `max(dict, key=dict.get)` returns the FIRST key with the maximal value, and the dict
 * iterates in order of first appearance among patches 1..n_patches; a strict `>` over the Map does the same.
 */
function weightedMostFrequentClass(entropies: ArrayLike<number>, classes: readonly number[]): number {
  let bestClass = -1;
  let bestWeight = -Infinity;
  for (const [cls, weight] of weightedClassCounts(entropies, classes)) {
    if (bestClass < 0 || weight > bestWeight) {
      bestClass = cls;
      bestWeight = weight;
    }
  }
  return bestClass;
}

/**
 * patch_loss2 (group 1, global–local consistency): F.cross_entropy of the original image's logits (view 0)
 * against the single class the patches vote for, each patch weighted by 1/(entropy + 1e-6).
 * Quirks kept:
 * - groups and the n_patches + 1 loop as in patch-common.ts; only patches 1..n_patches vote;
 * - the class comes from `.item()` values (no gradient); the loss's gradient reaches view 0 only;
 * - torch.mode's smallest-value-wins and max-over-dict's first-wins tie rules.
 */
export function patchLoss2(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => {
    const classes = outputs.shape[1];
    const original = tf.reshape(tf.slice(outputs, [0, 0], [1, classes]), [classes]); // outputs.view(-1, n_aug+1, C)[0][0]: [1, C] -> [C]
    const { selected, entropies } = confidentGroups(outputs, ctx);
    const patchClasses = mostFrequentClassPerGroup(selected);
    const target = weightedMostFrequentClass(entropies.dataSync().slice(1), patchClasses.slice(1));
    // F.cross_entropy(logits[None], class[None]) with mean reduction over a batch of one: −log_softmax[target].
    const oneHot = new Float32Array(classes);
    oneHot[target] = 1;
    return tf.neg(tf.sum(tf.mul(tf.tensor1d(oneHot), logSoftmax(original, 0)))) as tf.Scalar;
  });
}
