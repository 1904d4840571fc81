import * as tf from '@tensorflow/tfjs-core';
import { avgEntropy, selectConfidentSamples } from './selection.js';
import type { LossContext } from './types.js';

/**
 * defaultTPT_loss (seed §7.3, the TPT paper's objective): entropy of the averaged prediction over the
 * int(V·selection_p_all) most confident views. Quirk kept: the original image (view 0) competes for selection
 * like any augmented view, and the count truncates (int(64·0.1) = 6 views of 64).
 */
export function defaultTptLoss(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => avgEntropy(selectConfidentSamples(outputs, ctx.selection_p_all)));
}
