/**
 * TPT (Shu et al., NeurIPS 2022), as the seed notebook runs it: azshue/TPT@63ecbace79694205d7884e63fdc3137a200f0b0e,
 * tpt_classification.py::test_time_tuning / test_time_adapt_eval, with the seed's ten losses. The arithmetic is
 * `TestTimeTuner` (../engine.ts); this entry only builds it from the config.
 */
import type { TptConfig } from '../../config/schema.js';
import { lossContextOf } from '../../config/cross-checks.js';
import type { ClipTowers } from '../../engine/towers.js';
import { TestTimeTuner, type TunerSettings } from '../engine.js';
import { METHOD_SPECS } from './names.js';
import type { EpisodicMethod } from './types.js';

/** The tuner's settings from the config (shared by the methods that tune TPT's prompt). */
export function tunerSettings(config: TptConfig): TunerSettings {
  return {
    loss: config.loss,
    lossContext: lossContextOf(config),
    learningRate: config.learning_rate,
    ttaSteps: config.tta_steps,
  };
}

export const tptMethod: EpisodicMethod = {
  ...METHOD_SPECS.tpt,
  createTuner: (towers: ClipTowers, config: TptConfig) => new TestTimeTuner(towers, tunerSettings(config)),
};
