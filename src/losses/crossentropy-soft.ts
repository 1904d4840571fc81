import * as tf from '@tensorflow/tfjs-core';
import { confidentAugmentedMean, probabilitiesAsLogitsCrossEntropy } from './crossentropy-common.js';
import type { LossContext } from './types.js';

/**
 * crossentropy_soft_loss: the target is softmax of the mean logits of the most confident augmented views.
 * Quirks kept (see crossentropy-common.ts): probabilities passed as logits, selection over views 1..V−1.
 * The soft target is NOT detached in the seed, and torch's probability-target cross entropy is composed of
 * differentiable ops, so the gradient also flows into the selected augmented views through the target
 * (checked against torch's autograd by the golden fixture test).
 */
export function crossentropySoftLoss(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => {
    const target = tf.softmax(confidentAugmentedMean(outputs, ctx.selection_p_all));
    return probabilitiesAsLogitsCrossEntropy(outputs, target);
  });
}
