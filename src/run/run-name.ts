import { createHash } from 'node:crypto';
import { schemaDefaults, type ConfigKey, type TptConfig } from '../config/schema.js';
import { DEFAULT_DATASET } from '../data/datasets/registry.js';
import { pythonBoolRepr, pythonFloatRepr, pythonIntRepr } from '../python-repr.js';

/** The keys the seed's generate_run_name prints, plus those this tool names in words. */
const NAMED_KEYS = [
  'save', 'run_name', 'reduced_size', 'augmenter', 'loss', 'n_aug', 'n_patches', 'overlap', 'augmix', 'severity',
  'learning_rate', 'selection_p_all', 'selection_p_patch', 'shard', 'dataset', 'method',
] as const satisfies readonly ConfigKey[];

/**
 * Keys that never change a run's figures, so they stay out of the name: where the run is written, how fast and
 * on what it runs (results do not depend on the engine or the worker count: tested), the ignored seed key
 * `device`, the vocabulary file (the embedded one is the same file), and what is stored besides the figures
 * (TensorBoard images, logits). Every other key is result-changing and, when not at its default, enters the
 * name's hash, so a key added later is covered without touching this file. run-folder.ts still checks
 * save_imgs and save_logits when a folder is continued (one folder holds one kind of records).
 */
export const NAME_NEUTRAL_KEYS: readonly ConfigKey[] = [
  'out_dir', 'num_workers', 'workers', 'backend', 'device', 'bpe_path', 'save_imgs', 'save_logits',
];

type RunNameFields = Pick<TptConfig, Exclude<(typeof NAMED_KEYS)[number], 'dataset' | 'method'>> & Partial<TptConfig>;

/** Characters of the settings hash (hex of SHA-256): 8 give one chance in 4·10⁹ that two sweeps collide. */
const HASH_CHARS = 8;

/**
 * The result-changing settings that the seed's name leaves out and that differ from the schema's defaults,
 * sorted by key (absent keys count as their default). Empty for a config that only sets the seed's keys.
 */
export function hashedSettings(config: Partial<TptConfig>): Array<[string, unknown]> {
  const defaults = schemaDefaults() as Record<string, unknown>;
  const skip = new Set<string>([...NAMED_KEYS, ...NAME_NEUTRAL_KEYS]);
  return Object.keys(config)
    .filter((key) => !skip.has(key))
    .sort()
    .map((key): [string, unknown] => [key, (config as Record<string, unknown>)[key]])
    .filter(([key, value]) => value !== undefined && JSON.stringify(value) !== JSON.stringify(defaults[key]));
}

/** `_cfg=<8 hex>`: a short, stable hash of `hashedSettings` (JSON of the sorted [key, value] pairs); '' if none. */
export function settingsHashSuffix(config: Partial<TptConfig>): string {
  const settings = hashedSettings(config);
  if (settings.length === 0) return '';
  return `_cfg=${createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, HASH_CHARS)}`;
}

/**
 * The seed's generate_run_name (section 3.2), value for value: the float settings (overlap, learning_rate,
 * selection_p_*) print as Python floats, booleans as True/False, a missing or zero reduced_size as 'Full',
 * and `save: false` gives the scratch name "tmp".
 *
 * Added, each only when it is not at its default, in this order: `_method=<name>` (another method than TPT),
 * `_cfg=<hash>` (every other result-changing key not at its default: tta_steps, seed, clip_weights,
 * coop_weight_path, ctx_init, the method's hyperparameters, split_file, …; see `hashedSettings`),
 * `_dataset=<name>` (another test set than the seed's) and `_shard=<i>of<n>` (a shard; "/" cannot appear in a
 * folder name). So a sweep over any result-changing key gets one folder per point, and a config that sets
 * only the seed's keys keeps exactly the seed's name (folders written before the hash resume as they are).
 * `augmix` is the resolved value. `legacy` leaves the hash out: the name such a config had before the hash.
 */
export function generateRunName(config: RunNameFields, options: { legacy?: boolean } = {}): string {
  if (!config.save) return 'tmp';
  const size = config.reduced_size ? pythonIntRepr(config.reduced_size) : 'Full';
  const configName =
    `size=${size}_augmenter=${config.augmenter}_loss=${config.loss}` +
    `_naug=${pythonIntRepr(config.n_aug)}_npatch=${pythonIntRepr(config.n_patches)}` +
    `_overlap=${pythonFloatRepr(config.overlap)}_augmix=${pythonBoolRepr(config.augmix)}` +
    `_severity=${pythonIntRepr(config.severity)}_lr=${pythonFloatRepr(config.learning_rate)}` +
    `_spall=${pythonFloatRepr(config.selection_p_all)}_sppat=${pythonFloatRepr(config.selection_p_patch)}`;
  let name = config.run_name ? `${config.run_name}_${configName}` : configName;
  if (options.legacy !== true) {
    if (config.method !== undefined && config.method !== schemaDefaults().method) name += `_method=${config.method}`;
    name += settingsHashSuffix(config);
  }
  if (config.dataset !== undefined && config.dataset !== DEFAULT_DATASET) name += `_dataset=${config.dataset}`;
  if (config.shard === null || config.shard === undefined) return name;
  const [index, count] = config.shard.split('/');
  return `${name}_shard=${index}of${count}`;
}
