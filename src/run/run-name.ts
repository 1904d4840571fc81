import type { TptConfig } from '../config/schema.js';
import { DEFAULT_DATASET } from '../data/datasets/registry.js';
import { pythonBoolRepr, pythonFloatRepr, pythonIntRepr } from '../python-repr.js';

type RunNameFields = Pick<
  TptConfig,
  | 'save'
  | 'run_name'
  | 'reduced_size'
  | 'augmenter'
  | 'loss'
  | 'n_aug'
  | 'n_patches'
  | 'overlap'
  | 'augmix'
  | 'severity'
  | 'learning_rate'
  | 'selection_p_all'
  | 'selection_p_patch'
  | 'shard'
  | 'dataset'
>;

/**
 * The seed's generate_run_name (section 3.2), value for value: the float settings (overlap, learning_rate,
 * selection_p_*) print as Python floats, booleans as True/False, a missing or zero reduced_size as 'Full',
 * and `save: false` gives the scratch name "tmp".
 *
 * Added: a sharded run appends `_shard=<i>of<n>` so that the shards of one config get separate folders
 * (a "/" cannot appear in a folder name); a run on another test set than the seed's (the registry's default)
 * appends `_dataset=<name>` before it, so one config run over several datasets gets one folder each.
 * Unsharded names on the seed's dataset are exactly the seed's. `augmix` is the resolved value.
 */
export function generateRunName(config: RunNameFields): string {
  if (!config.save) return 'tmp';
  const size = config.reduced_size ? pythonIntRepr(config.reduced_size) : 'Full';
  const configName =
    `size=${size}_augmenter=${config.augmenter}_loss=${config.loss}` +
    `_naug=${pythonIntRepr(config.n_aug)}_npatch=${pythonIntRepr(config.n_patches)}` +
    `_overlap=${pythonFloatRepr(config.overlap)}_augmix=${pythonBoolRepr(config.augmix)}` +
    `_severity=${pythonIntRepr(config.severity)}_lr=${pythonFloatRepr(config.learning_rate)}` +
    `_spall=${pythonFloatRepr(config.selection_p_all)}_sppat=${pythonFloatRepr(config.selection_p_patch)}`;
  const named = config.run_name ? `${config.run_name}_${configName}` : configName;
  const name = config.dataset === undefined || config.dataset === DEFAULT_DATASET ? named : `${named}_dataset=${config.dataset}`;
  if (config.shard === null) return name;
  const [index, count] = config.shard.split('/');
  return `${name}_shard=${index}of${count}`;
}
