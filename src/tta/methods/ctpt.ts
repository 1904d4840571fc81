/**
 * C-TPT (Yoon et al., ICLR 2024), transcribed from hee-suk-yoon/C-TPT@085e6c2e3d2da647ca42dcef163e0cbd4bf30a67:
 * - tpt_classification.py::test_time_tuning, run_type `tpt_ctpt`: `loss = avg_entropy(selected views)`, then
 *   `loss += -lambda_ * model.l2_norm_mean_training`, one backward and one AdamW step per tta step;
 * - clip/custom_clip.py::ClipTestTimeTuning.inference, the `l2_norm_cal` block: over the current prompt's
 *   L2-normalised text features t_c, `l2_norm_mean = mean_c ‖t_c − mean_c' t_c'‖₂` (ATFD), computed in the
 *   same forward pass as the views' logits, so it is the ATFD of the prompt being tuned.
 * λ: scripts/test_tpt_ctpt_ds.sh (ImageNet sets) 20, test_tpt_ctpt_fg.sh (fine-grained) 50. The final scores
 * are TPT's: view 0 at the tuned prompt. Here the term joins whichever of the ten losses is configured
 * (defaultTPT is the official one); the towers carry its gradient back through the text tower on both engines.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TptConfig } from '../../config/schema.js';
import type { ClipTowers } from '../../engine/towers.js';
import { TestTimeTuner } from '../engine.js';
import { hyperparameterValue, METHOD_SPECS } from './names.js';
import { tunerSettings } from './tpt.js';
import type { EpisodicMethod } from './types.js';

/** ATFD: the mean over classes of ‖t_c − mean_c' t_c'‖₂ of [C, E] text features (differentiable). */
export function atfd(textFeatures: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const distance = tf.sub(textFeatures, tf.mean(textFeatures, 0, true));
    return tf.mean(tf.sqrt(tf.sum(tf.square(distance), 1)));
  });
}

/** The term C-TPT adds to the loss: −λ·ATFD (maximising the dispersion lowers the loss). */
export function ctptTextTerm(lambda: number): (textFeatures: tf.Tensor2D) => tf.Scalar {
  return (textFeatures) => tf.tidy(() => tf.mul(atfd(textFeatures), -lambda));
}

export const ctptMethod: EpisodicMethod = {
  ...METHOD_SPECS['c-tpt'],
  createTuner: (towers: ClipTowers, config: TptConfig) =>
    new TestTimeTuner(towers, { ...tunerSettings(config), textTerm: ctptTextTerm(hyperparameterValue(config, 'ctpt_lambda')) }),
};
