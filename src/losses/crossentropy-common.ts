import * as tf from '@tensorflow/tfjs-core';
import { logSoftmax, selectConfidentSamples } from './selection.js';

/**
 * Shared pieces of the seed's three cross-entropy losses (§10, "New general Losses").
 *
 * Quirk kept: the seed calls `torch.nn.CrossEntropyLoss()(orig_img_output, target)` with
 * `orig_img_output = output[0].softmax(dim=0)`, i.e. it passes PROBABILITIES where CrossEntropyLoss expects
 * logits, so the loss is −Σ target · log_softmax(softmax(output[0])). Because probabilities lie in [0, 1]
 * this loss stays close to log(C) and its gradient is small; we reproduce it, not the intended
 * −Σ target · log softmax(output[0]).
 */
export function probabilitiesAsLogitsCrossEntropy(outputs: tf.Tensor2D, target: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const classes = outputs.shape[1];
    const originalLogits = tf.reshape(tf.slice(outputs, [0, 0], [1, classes]), [classes]); // [1, C] -> [C]
    const originalProbabilities = tf.softmax(originalLogits);
    // CrossEntropyLoss with class-probability targets on an unbatched [C] input: −Σ target·log_softmax(input);
    // reduction 'mean' divides by the batch size, which is 1 for an unbatched input.
    return tf.neg(tf.sum(tf.mul(target, logSoftmax(originalProbabilities, 0)))) as tf.Scalar;
  });
}

/**
 * `select_confident_samples(output[1:], selection_p_all).mean(dim=0)`: the mean logits of the most confident
 * AUGMENTED views. Quirk kept: the selection runs over the V − 1 views after the original, so it keeps
 * int((V − 1)·p) rows (int(63·0.1) = 6 for the seed's 64 views). The result keeps its gradient.
 */
export function confidentAugmentedMean(outputs: tf.Tensor2D, selectionP: number): tf.Tensor1D {
  return tf.tidy(() => {
    const [views, classes] = outputs.shape;
    const augmented = tf.slice(outputs, [1, 0], [views - 1, classes]); // [V − 1, C]
    return tf.mean(selectConfidentSamples(augmented, selectionP), 0) as tf.Tensor1D;
  });
}
