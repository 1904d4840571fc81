import type * as tf from '@tensorflow/tfjs-core';

/** The config values the seed's losses read from `args` (names kept as in the seed's default_args). */
export interface LossContext {
  /** Augmented views per image (PatchAugmenter: per patch); each patch-loss group holds n_aug + 1 views. */
  n_aug: number;
  /** Number of patches the patch losses loop over (the seed loops `range(n_patches + 1)`). */
  n_patches: number;
  /** Fraction of views kept by select_confident_samples in defaultTPT and the cross-entropy losses. */
  selection_p_all: number;
  /** Fraction of views kept per group in patch_loss1–4. */
  selection_p_patch: number;
  /** The α of patch_loss6's exp(−α·entropy) weights. */
  alpha_exponential_weightening: number;
}

/**
 * A test-time loss: `outputs` are the [V, C] logits of all views in the augmenter's order (view 0 is the
 * CLIP-preprocessed original image). Returns a scalar whose gradient with respect to `outputs` matches the
 * seed's autograd graph. Implementations are synchronous (they may read small host values such as
 * entropies with dataSync) and clean up their intermediates.
 */
export type LossFn = (outputs: tf.Tensor2D, ctx: LossContext) => tf.Scalar;
