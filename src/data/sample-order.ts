/**
 * The order in which a run processes the samples, as the seed's `get_dataloader` draws it, from the run's seed.
 *
 * - `reduced_size` N (the seed: `indices = torch.randperm(len)[:N]` then `SubsetRandomSampler(indices)`): a
 *   random subset of N samples, visited in random order. We draw it the same way, a permutation cut to N and
 *   then the sampler's own shuffle; `dataset_shuffle` is ignored then, as in the seed (the sampler wins).
 *   N = 0 or null means the whole dataset (the config's convention).
 * - otherwise `dataset_shuffle`: a random permutation (DataLoader(shuffle=True));
 * - otherwise ImageFolder order.
 * All draws come from `Rng.fromSeed(seed)`. torch's generator cannot be replayed in JS, so the order is not
 * torch's; it is a pure function of (seed, sample list), the same on every machine and worker count.
 *
 * Sharding: shard {index, count}, 0-based `index` in [0, count), takes positions index, index+count, … of the
 * final order, so the shards partition the run and their union (interleaved back) is the unsharded order.
 */
import { TptError } from '../errors.js';
import { Rng } from './rng.js';

export interface Shard {
  /** 0-based shard number, 0 ≤ index < count. */
  readonly index: number;
  readonly count: number;
}

export interface SampleOrderOptions {
  readonly seed: number;
  readonly datasetShuffle: boolean;
  /** Size of the random subset; null, undefined or 0 = all samples. */
  readonly reducedSize?: number | null;
  readonly shard?: Shard | null;
}

/** A sample's stable identity: its dataset-relative path. Per-sample random streams derive from (seed, identity). */
export function sampleIdentity(sample: { readonly file: string }): string {
  return sample.file;
}

/** Parses the config's `shard: "i/n"` (0-based i). */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const shard = match ? { index: Number(match[1]), count: Number(match[2]) } : undefined;
  if (shard === undefined || shard.count < 1 || shard.index >= shard.count) {
    throw new TptError('CONFIG_INVALID', `shard "${text}" is not "i/n" with 0 ≤ i < n`, {
      hint: 'shards are 0-based: with 4 machines use "0/4", "1/4", "2/4" and "3/4"',
    });
  }
  return shard;
}

function checkShard(shard: Shard): void {
  const { index, count } = shard;
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new TptError('CONFIG_INVALID', `shard ${index}/${count} is not 0 ≤ i < n`, {
      hint: 'shards are 0-based: with 4 machines use "0/4", "1/4", "2/4" and "3/4"',
    });
  }
}

/** The samples this run (or shard) processes, in processing order. The input array is not modified. */
export function sampleOrder<T>(samples: readonly T[], options: SampleOrderOptions): T[] {
  const { seed, datasetShuffle, reducedSize, shard } = options;
  if (reducedSize !== undefined && reducedSize !== null && (!Number.isSafeInteger(reducedSize) || reducedSize < 0)) {
    throw new TptError('CONFIG_INVALID', `reduced_size ${String(reducedSize)} is not a non-negative integer`, {
      hint: 'set reduced_size to a number of samples, or null (or 0) for the whole dataset',
    });
  }
  let order: T[];
  if (reducedSize) {
    const rng = Rng.fromSeed(seed);
    const subset = rng.shuffle(samples).slice(0, reducedSize); // torch.randperm(len)[:reduced_size]
    order = rng.shuffle(subset); // SubsetRandomSampler visits its indices in a fresh random order
  } else if (datasetShuffle) {
    order = Rng.fromSeed(seed).shuffle(samples);
  } else {
    order = samples.slice();
  }
  if (shard) {
    checkShard(shard);
    order = order.filter((_, position) => position % shard.count === shard.index);
  }
  return order;
}
