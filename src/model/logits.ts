import * as tf from '@tensorflow/tfjs-core';

/**
 * CLIP's logits, exp(logit_scale) · imageFeatures · textFeaturesᵀ: [N, E] × [C, E] → [N, C]. Every engine's
 * features meet here (the loss and its gradient run on tfjs whichever engine ran the towers).
 */
export function clipLogits(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D, logitScale: number): tf.Tensor2D {
  // An explicit transpose: wasm's matMul with transposeB is many times slower than a plain one.
  return tf.tidy(() => tf.mul(tf.matMul(imageFeatures, tf.transpose(textFeatures)), logitScale)); // [N, E] × [E, C]
}
