import * as tf from '@tensorflow/tfjs-core';
import { logSoftmax } from './selection.js';
import { confidentGroups, mostFrequentClassPerGroup, weightedClassCounts } from './patch-common.js';
import type { LossContext } from './types.js';

/**
 * weighted_class_distribution(entropy, classes, n_classes): each patch votes for its most frequent class with
 * weight 1/(entropy + 1e-6); the votes are normalised into a distribution over all classes. Python sums the
 * float64 weights in insertion order (`sum(weighted_counts.values())`) and each share is stored as float32.
 */
function weightedClassDistribution(entropies: ArrayLike<number>, classes: readonly number[], nClasses: number): Float32Array {
  const counts = weightedClassCounts(entropies, classes);
  let total = 0;
  for (const weight of counts.values()) total += weight;
  const distribution = new Float32Array(nClasses);
  for (const [cls, weight] of counts) distribution[cls] = weight / total;
  return distribution;
}

/**
 * patch_loss1 (group 1, global–local consistency): cross entropy between the original image's prediction
 * (view 0) and the entropy-weighted distribution of the patches' most frequent classes.
 * Quirks kept:
 * - groups are `outputs.view(-1, n_aug+1, C)` and the loop covers n_patches + 1 of them (patch-common.ts);
 * - only patches 1..n_patches vote (`patch_entropy[1:]`); group 0's selection is computed and ignored;
 * - the target is built from `.item()` values, so it is a constant: the gradient reaches view 0 only;
 * - the most frequent class uses torch.mode's smallest-value-wins ties.
 */
export function patchLoss1(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => {
    const classes = outputs.shape[1];
    const original = tf.reshape(tf.slice(outputs, [0, 0], [1, classes]), [classes]); // outputs.view(-1, n_aug+1, C)[0][0]: [1, C] -> [C]
    const { selected, entropies } = confidentGroups(outputs, ctx);
    const patchClasses = mostFrequentClassPerGroup(selected);
    const target = weightedClassDistribution(entropies.dataSync().slice(1), patchClasses.slice(1), classes);
    return tf.neg(tf.sum(tf.mul(tf.tensor1d(target), logSoftmax(original, 0)))) as tf.Scalar;
  });
}
