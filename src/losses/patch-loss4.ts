import * as tf from '@tensorflow/tfjs-core';
import { confidentGroups } from './patch-common.js';
import type { LossContext } from './types.js';

/**
 * patch_loss4 (group 2, reliability weighting): the lowest average entropy among the groups, so only the
 * most confident group (which may be the original image's group 0) is tuned.
 * Quirks kept: groups and the n_patches + 1 loop as in patch-common.ts. On an exact tie torch 1.13's
 * `min()` splits the gradient evenly between the tied groups while tf.min gives each the full gradient;
 * avg entropies of different groups are never bit-identical in practice.
 */
export function patchLoss4(outputs: tf.Tensor2D, ctx: LossContext): tf.Scalar {
  return tf.tidy(() => tf.min(confidentGroups(outputs, ctx).entropies) as tf.Scalar);
}
