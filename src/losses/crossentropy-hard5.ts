import * as tf from '@tensorflow/tfjs-core';
import { confidentAugmentedMean, probabilitiesAsLogitsCrossEntropy } from './crossentropy-common.js';
import type { LossContext } from './types.js';

/** Indices of the k largest values, largest first; equal values keep the lower index first. */
function topKIndices(values: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
  return order.slice(0, k);
}

/**
 * crossentropy_hard5_loss: the target keeps the five largest mean logits of the most confident augmented
 * views, zeroes the rest and divides by their sum. Quirks kept:
 * - it normalises RAW LOGITS (not probabilities): with CLIP's logits ≈ 100·cos the five entries are all
 *   close to 1/5 whatever their softmax would say;
 * - `filtered_dist[topk_indices] = topk_values` writes tensors that require grad, so in torch the gradient
 *   flows through the target into the five top entries of the mean (and from there into the selected
 *   views); multiplying by a 0/1 mask of the top-5 positions is the same function with the same gradient;
 * - probabilities passed as logits and selection over views 1..V−1 (see crossentropy-common.ts).
 * Which five: torch.topk's set; only an exact tie at the fifth place could differ (we prefer lower indices).
 */
export function crossentropyHard5Loss(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => {
    const bestMean = confidentAugmentedMean(outputs, ctx.selection_p_all);
    const classes = bestMean.shape[0];
    const mask = new Float32Array(classes);
    for (const index of topKIndices(bestMean.dataSync(), 5)) mask[index] = 1;
    const filtered = tf.mul(bestMean, tf.tensor1d(mask));
    const target = tf.div(filtered, tf.sum(filtered)) as tf.Tensor1D;
    return probabilitiesAsLogitsCrossEntropy(outputs, target);
  });
}
