import * as tf from '@tensorflow/tfjs-core';
import { logSoftmax } from './selection.js';
import { allGroups } from './patch-common.js';
import type { LossContext } from './types.js';

/**
 * patch_loss5 (group 3, aggregation): per group, the mean logits over its n_aug + 1 views and the entropy of
 * their softmax; the groups' log-probabilities, each multiplied by 1/(entropy + ε), are averaged, re-normalised
 * with log_softmax, and the loss is the entropy of that distribution.
 * Quirks kept:
 * - it uses EVERY group of `view(-1, n_aug+1, C)`, not the n_patches + 1 of the loop, and selects nothing
 *   (selection_p_patch is ignored);
 * - it multiplies LOG-probabilities by the weights (not probabilities), as written;
 * - the weights are tensors, so the gradient flows through them too.
 */
export function patchLoss5(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => {
    const epsilon = 1e-6;
    const meanPerGroup = tf.mean(allGroups(outputs, ctx), 1) as tf.Tensor2D; // [G, n_aug+1, C] -> [G, C]
    const logProbPerGroup = logSoftmax(meanPerGroup, 1);
    const entropyPerGroup = tf.neg(tf.sum(tf.mul(logProbPerGroup, tf.exp(logProbPerGroup)), -1)); // [G]
    const weights = tf.div(1, tf.add(tf.reshape(entropyPerGroup, [-1, 1]), epsilon)); // [G] -> [G, 1] (reshape: ExpandDims has no registered gradient)
    const logProbOutput = logSoftmax(tf.mean(tf.mul(logProbPerGroup, weights), 0), 0); // [C]
    return tf.neg(tf.sum(tf.mul(logProbOutput, tf.exp(logProbOutput)), 0)) as tf.Scalar;
  });
}
