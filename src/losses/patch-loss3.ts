import * as tf from '@tensorflow/tfjs-core';
import { confidentGroups } from './patch-common.js';
import type { LossContext } from './types.js';

/**
 * patch_loss3 (group 2, reliability weighting): the groups' average entropies weighted by their normalised
 * inverse entropies, Σ H_i · (1/(H_i+ε)) / Σ_j 1/(H_j+ε).
 * Quirks kept:
 * - the original image's group 0 is weighted like a patch; groups and the loop as in patch-common.ts;
 * - the weights are TENSORS here (no `.item()`), so unlike patch_loss1/2 the gradient flows through the
 *   weights as well as through the entropies — the code, not the notebook's prose, decides.
 */
export function patchLoss3(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => {
    const { entropies } = confidentGroups(outputs, ctx);
    const epsilon = 1e-6;
    const inverse = tf.div(1, tf.add(entropies, epsilon));
    const weights = tf.div(inverse, tf.sum(inverse)); // `weights /= weights.sum()`, still differentiable
    return tf.sum(tf.mul(entropies, weights)) as tf.Scalar;
  });
}
