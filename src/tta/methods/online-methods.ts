import type { TptConfig } from '../../config/schema.js';
import { getDataset, isDatasetName } from '../../data/datasets/registry.js';
import type { ClipTowers } from '../../engine/towers.js';
import { DynamicMemory } from './dmn.js';
import { hyperparameterValue, METHOD_SPECS } from './names.js';
import { OnlineTuner, type OnlineAlgorithm } from './online.js';
import { CacheAdapter } from './tda.js';
import type { OnlineMethod } from './types.js';

/**
 * The online methods' entries: each builds its algorithm's state from the config's hyperparameters (official
 * defaults per dataset where the official configs differ per dataset) and wraps it in the one online tuner.
 */

/** The config's online algorithm, fresh (no sample seen). */
export function createOnlineAlgorithm(config: TptConfig): OnlineAlgorithm {
  switch (config.method) {
    case 'tda':
      return new CacheAdapter({ alpha: hyperparameterValue(config, 'tda_alpha'), beta: hyperparameterValue(config, 'tda_beta') });
    case 'boostadapter':
      return new CacheAdapter({
        alpha: hyperparameterValue(config, 'tda_alpha'),
        beta: hyperparameterValue(config, 'tda_beta'),
        boostDelta: hyperparameterValue(config, 'boost_delta'),
        // get_clip_logits(infer_ori_image): view 0 is the query on the fine-grained sets.
        queryViewZero: isDatasetName(config.dataset) && getDataset(config.dataset).benchmark === 'cross-dataset',
      });
    case 'dmn-zs':
      return new DynamicMemory({
        beta: hyperparameterValue(config, 'dmn_beta'),
        weight: hyperparameterValue(config, 'dmn_weight'),
        memorySize: hyperparameterValue(config, 'dmn_memory_size'),
      });
    default:
      throw new Error(`method ${config.method} is not an online method`);
  }
}

const online = (name: 'tda' | 'dmn-zs' | 'boostadapter'): OnlineMethod => ({
  ...METHOD_SPECS[name],
  createTuner: (towers: ClipTowers, config: TptConfig) => new OnlineTuner(towers, createOnlineAlgorithm(config)),
});

export const tdaMethod = online('tda');
export const dmnMethod = online('dmn-zs');
export const boostadapterMethod = online('boostadapter');
