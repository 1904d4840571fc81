import * as tf from '@tensorflow/tfjs-core';
import { confidentAugmentedMean, probabilitiesAsLogitsCrossEntropy } from './crossentropy-common.js';
import type { LossContext } from './types.js';

/**
 * crossentropy_hard1_loss: the target is a one-hot vector at argmax of the mean logits of the most
 * confident augmented views. Quirks kept (see crossentropy-common.ts): probabilities passed as logits,
 * selection over views 1..V−1. The target is built by writing a constant 1 into zeros, so it carries no
 * gradient: only view 0 receives one. argmax ties go to the lowest class index, as torch.argmax.
 */
export function crossentropyHard1Loss(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => {
    const bestMean = confidentAugmentedMean(outputs, ctx.selection_p_all).dataSync();
    let argmax = 0;
    for (let c = 1; c < bestMean.length; c++) if ((bestMean[c] as number) > (bestMean[argmax] as number)) argmax = c;
    const target = new Float32Array(bestMean.length);
    target[argmax] = 1;
    return probabilitiesAsLogitsCrossEntropy(outputs, tf.tensor1d(target));
  });
}
