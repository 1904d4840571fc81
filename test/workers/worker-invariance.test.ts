import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { runTpt } from '../../src/tta/coordinator.js';
import { resolveWorkerCount } from '../../src/workers/worker-count.js';
import { tinyRunConfig, writeTinyDataset } from '../tpt/tiny-dataset.js';
import { ensureDistBuilt } from './ensure-dist.js';

/**
 * Parallel samples change nothing but speed: each sample's views come from (seed, the sample's identity)
 * and the engine resets the context and the optimizer before every sample, so the run folder of one worker
 * (in-thread) and of two or three worker threads (compiled code in dist/) is the same, line for line.
 */

let datasetRoot: string;

beforeAll(async () => {
  ensureDistBuilt();
  await initBackend('wasm');
  datasetRoot = await writeTinyDataset({ classes: 3, perClass: 2 });
});

async function runWith(workers: number, sets: string[] = ['augmix=true', 'n_aug=9']): Promise<{ samples: string; summary: Record<string, unknown> }> {
  // AugMix on: the per-sample random stream matters more than with crops alone.
  const config = tinyRunConfig(datasetRoot, [`workers=${workers}`, 'save_logits=true', ...sets]);
  const result = await runTpt(config);
  expect(result.status).toBe('finished');
  return {
    samples: readFileSync(join(result.dir, 'samples.jsonl'), 'utf8'),
    summary: JSON.parse(readFileSync(join(result.dir, 'summary.json'), 'utf8')) as Record<string, unknown>,
  };
}

describe('worker-count invariance', () => {
  it('samples.jsonl is identical with 1, 2 and 3 workers', async () => {
    const one = await runWith(1);
    const two = await runWith(2);
    const three = await runWith(3);
    const lines = one.samples.trim().split('\n');
    expect(lines).toHaveLength(6);
    // The records hold no timings, so the files must agree byte for byte (logits included).
    expect(two.samples).toBe(one.samples);
    expect(three.samples).toBe(one.samples);
    expect(one.summary['workers']).toBe(1);
    expect(two.summary['workers']).toBe(2);
    expect(three.summary['workers']).toBe(3);
  });

  it.each([
    ['r-tpt', ['method="r-tpt"', 'augmix=true', 'n_aug=20']],
    ['zero', ['method="zero"', 'augmix=false', 'n_aug=9']],
  ])('%s: the worker threads build the method from the config, with the same records as in-thread', async (_, sets) => {
    const one = await runWith(1, sets);
    const two = await runWith(2, sets);
    expect(two.samples).toBe(one.samples);
    expect(two.summary['workers']).toBe(2);
  });

  it('workers 0 means one per core on a CPU backend and 1 on a GPU; onnxruntime is always one in-process engine', () => {
    expect(resolveWorkerCount(0, { gpu: true })).toBe(1);
    expect(resolveWorkerCount(0, { gpu: false })).toBe(availableParallelism());
    expect(resolveWorkerCount(3, { gpu: true })).toBe(3);
    expect(resolveWorkerCount(0, { engine: 'tfjs', gpu: false })).toBe(availableParallelism());
    expect(resolveWorkerCount(0, { engine: 'onnxruntime', gpu: false })).toBe(1);
    expect(resolveWorkerCount(4, { engine: 'onnxruntime', gpu: false })).toBe(1);
  });
});
