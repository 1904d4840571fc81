import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { DatasetSample } from '../../src/data/dataset.js';
import { TptError } from '../../src/errors.js';
import type { SampleRecord } from '../../src/run/records.js';
import { donePrefix, planSamples } from '../../src/tta/sample-plan.js';

const SAMPLES: DatasetSample[] = Array.from({ length: 23 }, (_, i) => ({ file: `n0000000${i % 3}/img_${i}.jpg`, target: i % 3, wnid: `n0000000${i % 3}` }));

function record(index: number, file: string): SampleRecord {
  const p = { pred: 0, top5: [0, 1, 2, 3, 4], conf: 0.5, ce: 1 };
  return { index, file, target: 0, base: p, tpt: p, loss: 0, change: 0 };
}

describe('planSamples', () => {
  it('numbers samples by their position in the seeded order', () => {
    const plan = planSamples(SAMPLES, loadConfig(undefined, []));
    expect(plan.map((s) => s.index)).toEqual(plan.map((_, i) => i));
    expect(plan.map((s) => s.position)).toEqual(plan.map((_, i) => i));
    expect(new Set(plan.map((s) => s.file)).size).toBe(23);
    expect(plan.map((s) => s.file)).not.toEqual(SAMPLES.map((s) => s.file)); // shuffled with the seed
    expect(planSamples(SAMPLES, loadConfig(undefined, ['dataset_shuffle=false'])).map((s) => s.file)).toEqual(SAMPLES.map((s) => s.file));
    expect(planSamples(SAMPLES, loadConfig(undefined, ['reduced_size=5']))).toHaveLength(5);
  });

  it('gives each shard a slice numbered as in the unsharded order; the shards partition it', () => {
    const whole = planSamples(SAMPLES, loadConfig(undefined, []));
    const shards = [0, 1, 2].map((i) => planSamples(SAMPLES, loadConfig(undefined, [`shard=${i}/3`])));
    for (const shard of shards) {
      expect(shard.map((s) => s.position)).toEqual(shard.map((_, i) => i));
      for (const s of shard) expect(whole[s.index]!.file).toBe(s.file);
    }
    expect(shards.flatMap((s) => s.map((x) => x.index)).sort((a, b) => a - b)).toEqual(whole.map((s) => s.index));
  });
});

describe('donePrefix', () => {
  const plan = planSamples(SAMPLES, loadConfig(undefined, []));

  it('counts the finished positions of an earlier session, samples and skipped files together', () => {
    expect(donePrefix(plan, [], [])).toBe(0);
    expect(donePrefix(plan, [record(0, plan[0]!.file), record(2, plan[2]!.file)], [{ index: 1, file: plan[1]!.file, error: 'x' }])).toBe(3);
  });

  it('refuses records that are not the plan\'s first positions (the dataset changed)', () => {
    expect(() => donePrefix(plan, [record(1, plan[1]!.file)], [])).toThrow(TptError);
    expect(() => donePrefix(plan, [record(0, 'n00000009/other.jpg')], [])).toThrow(/is n00000009\/other\.jpg in the folder/);
  });
});
