import { TptError } from '../errors.js';
import { SHARD_PATTERN } from './schema.js';

/** A shard "i/n": this process handles slice `index` (0-based) of `count` slices of the sample order. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string | null): Shard | null {
  if (text === null) return null;
  const match = SHARD_PATTERN.exec(text);
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || !(count >= 1) || !(index >= 0 && index < count)) {
    throw new TptError('CONFIG_INVALID', `config: shard: expected "i/n" with 0 ≤ i < n, got ${JSON.stringify(text)}`, {
      hint: 'Shards are 0-based: a run split in 4 uses "0/4", "1/4", "2/4" and "3/4"; join them with `tpt merge`.',
    });
  }
  return { index, count };
}
