import { describe, expect, it } from 'vitest';
import { parseShard, sampleIdentity, sampleOrder } from '../../src/data/sample-order.js';
import { TptError } from '../../src/errors.js';

const samples = Array.from({ length: 50 }, (_, i) => ({ file: `n0149804${i % 2}/img_${String(i).padStart(3, '0')}.jpg`, target: i % 2 }));
const files = (list: readonly { file: string }[]) => list.map((s) => s.file);

describe('sampleOrder', () => {
  it('keeps ImageFolder order without shuffle or subset', () => {
    expect(sampleOrder(samples, { seed: 1, datasetShuffle: false })).toEqual(samples);
    expect(sampleOrder(samples, { seed: 1, datasetShuffle: false, reducedSize: 0 })).toEqual(samples);
    expect(sampleOrder(samples, { seed: 1, datasetShuffle: false, reducedSize: null })).toEqual(samples);
  });

  it('shuffles deterministically from the seed, without touching the input', () => {
    const before = files(samples);
    const a = sampleOrder(samples, { seed: 1337, datasetShuffle: true });
    const b = sampleOrder(samples, { seed: 1337, datasetShuffle: true });
    const c = sampleOrder(samples, { seed: 1338, datasetShuffle: true });
    expect(files(a)).toEqual(files(b));
    expect(files(a)).not.toEqual(files(c));
    expect(files(a)).not.toEqual(before);
    expect([...files(a)].sort()).toEqual([...before].sort());
    expect(files(samples)).toEqual(before);
  });

  it('takes a random subset of reduced_size in random order, deterministically, shuffle or not', () => {
    const a = sampleOrder(samples, { seed: 7, datasetShuffle: false, reducedSize: 10 });
    const b = sampleOrder(samples, { seed: 7, datasetShuffle: true, reducedSize: 10 });
    const c = sampleOrder(samples, { seed: 8, datasetShuffle: false, reducedSize: 10 });
    expect(a).toHaveLength(10);
    expect(new Set(files(a)).size).toBe(10);
    for (const s of a) expect(samples).toContain(s);
    expect(files(a)).toEqual(files(b)); // as in the seed, the subset sampler ignores dataset_shuffle
    expect(files(a)).not.toEqual(files(c));
    expect(files(a)).not.toEqual(files(samples.slice(0, 10)));
    expect(sampleOrder(samples, { seed: 7, datasetShuffle: false, reducedSize: 500 })).toHaveLength(50);
  });

  it('splits the order into shards whose interleaved union is the unsharded order', () => {
    for (const options of [
      { seed: 3, datasetShuffle: true },
      { seed: 3, datasetShuffle: false, reducedSize: 23 },
    ]) {
      const full = sampleOrder(samples, options);
      const count = 4;
      const shards = Array.from({ length: count }, (_, index) => sampleOrder(samples, { ...options, shard: { index, count } }));
      expect(shards.reduce((n, s) => n + s.length, 0)).toBe(full.length);
      const interleaved = full.map((_, position) => shards[position % count]?.[Math.floor(position / count)]);
      expect(interleaved).toEqual(full);
      expect(shards[1]?.[0]).toBe(full[1]);
    }
  });

  it('rejects bad shards and subset sizes', () => {
    expect(() => sampleOrder(samples, { seed: 0, datasetShuffle: false, shard: { index: 4, count: 4 } })).toThrow(TptError);
    expect(() => sampleOrder(samples, { seed: 0, datasetShuffle: false, reducedSize: -1 })).toThrow(TptError);
    expect(() => sampleOrder(samples, { seed: 0, datasetShuffle: false, reducedSize: 1.5 })).toThrow(TptError);
  });
});

describe('parseShard and sampleIdentity', () => {
  it('parses 0-based "i/n"', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 3/4 ')).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('4/4')).toThrow(/0 ≤ i < n/);
    expect(() => parseShard('1/0')).toThrow(TptError);
    expect(() => parseShard('a/b')).toThrow(TptError);
  });

  it('names a sample by its relative path', () => {
    expect(sampleIdentity({ file: 'n01498041/a.jpg' })).toBe('n01498041/a.jpg');
  });
});
