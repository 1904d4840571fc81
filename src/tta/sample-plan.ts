import type { TptConfig } from '../config/schema.js';
import type { DatasetSample } from '../data/dataset.js';
import { parseShard, sampleOrder } from '../data/sample-order.js';
import { TptError } from '../errors.js';
import type { SampleRecord, SkippedRecord } from '../run/records.js';
import type { PlannedSample } from './view-prefetch.js';

/**
 * The run's sample list: the dataset in the seed's order (shuffled / reduced with the run's seed), each
 * sample numbered by its position in that unsharded order (its TensorBoard step), then cut to this
 * process's shard.
 */
export function planSamples(samples: readonly DatasetSample[], config: TptConfig): PlannedSample[] {
  const order = sampleOrder(samples, { seed: config.seed, datasetShuffle: config.dataset_shuffle, reducedSize: config.reduced_size });
  const numbered = order.map((s, index) => ({ index, file: s.file, target: s.target }));
  const mine =
    config.shard === null
      ? numbered
      : sampleOrder(numbered, { seed: config.seed, datasetShuffle: false, reducedSize: null, shard: parseShard(config.shard) });
  return mine.map((s, position) => ({ ...s, position }));
}

/**
 * How many positions of the plan an earlier session finished, checking that the folder's records are
 * exactly the plan's first positions (a changed dataset folder would otherwise mix two sample lists).
 */
export function donePrefix(plan: readonly PlannedSample[], samples: readonly SampleRecord[], skipped: readonly SkippedRecord[]): number {
  const done = new Map<number, string>();
  for (const r of [...samples, ...skipped]) done.set(r.index, r.file);
  const count = samples.length + skipped.length;
  const mismatch = (detail: string) =>
    new TptError('RUN_FOLDER_MISMATCH', `the run folder's records do not match this run's sample list (${detail})`, {
      hint: 'The dataset folder changed since the run started. Point dataset_path (imagenet_a_path for ImageNet-A) at the same data, or add --fresh to start over.',
    });
  if (done.size !== count) throw mismatch('an index appears twice');
  if (count > plan.length) throw mismatch(`${count} records for ${plan.length} samples`);
  for (let position = 0; position < count; position++) {
    const planned = plan[position]!;
    const file = done.get(planned.index);
    if (file === undefined) throw mismatch(`sample ${planned.index} (${planned.file}) is missing while later ones are done`);
    if (file !== planned.file) throw mismatch(`sample ${planned.index} is ${file} in the folder but ${planned.file} now`);
  }
  return count;
}
