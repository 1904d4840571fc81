import * as tf from '@tensorflow/tfjs-core';
import { logSoftmax } from './selection.js';
import { allGroups } from './patch-common.js';
import type { LossContext } from './types.js';

/**
 * patch_loss6 (group 3, aggregation): as patch_loss5 but each group's log-probabilities are weighted by
 * exp(−α·entropy) with α = alpha_exponential_weightening.
 * Quirks kept: every group of `view(-1, n_aug+1, C)` is used and nothing is selected; log-probabilities (not
 * probabilities) are weighted; the weights are tensors, so the gradient flows through them too.
 */
export function patchLoss6(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => {
    const alpha = ctx.alpha_exponential_weightening;
    const meanPerGroup = tf.mean(allGroups(outputs, ctx), 1) as tf.Tensor2D; // [G, n_aug+1, C] -> [G, C]
    const logProbPerGroup = logSoftmax(meanPerGroup, 1);
    const entropyPerGroup = tf.neg(tf.sum(tf.mul(logProbPerGroup, tf.exp(logProbPerGroup)), -1)); // [G]
    const weights = tf.reshape(tf.exp(tf.mul(-alpha, entropyPerGroup)), [-1, 1]); // [G] -> [G, 1] (reshape: ExpandDims has no registered gradient)
    const logProbOutput = logSoftmax(tf.mean(tf.mul(logProbPerGroup, weights), 0), 0); // [C]
    return tf.neg(tf.sum(tf.mul(logProbOutput, tf.exp(logProbOutput)), 0)) as tf.Scalar;
  });
}
