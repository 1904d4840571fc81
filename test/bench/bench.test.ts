import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { benchArchSize, buildBenchWeights } from '../../src/bench/bench-model.js';
import { archLabel } from '../../src/weights/arch.js';
import { formatBench } from '../../src/bench/format-bench.js';
import { runBench } from '../../src/bench/run-bench.js';
import { main } from '../../src/cli/main.js';
import { isTptError } from '../../src/errors.js';
import { ensureDistBuilt } from '../workers/ensure-dist.js';

/** `tpt bench` on the tiny architecture: the report's fields, not its timings (they are the machine's). */

beforeAll(async () => {
  ensureDistBuilt();
  await initBackend('wasm');
});

const TINY = { arch: 'tiny', views: 10, classes: 8, samples: 2, backend: 'wasm' as const, seed: 0 };

function expectReport(r: Record<string, unknown>, workers: number): void {
  expect(r).toMatchObject({ arch: 'tiny', views: 10, classes: 8, samples: 2, backend: 'wasm', workers });
  expect(r['seconds_per_sample']).toBeGreaterThan(0);
  const breakdown = r['breakdown'] as Record<string, number>;
  expect(Object.keys(breakdown).sort()).toEqual(['evaluation', 'image_tower', 'preprocessing', 'tuning']);
  for (const seconds of Object.values(breakdown)) expect(seconds).toBeGreaterThan(0);
  expect(r['peak_rss_mb']).toBeGreaterThan(0);
  expect(r['warmup_samples']).toBe(r['workers']); // one untimed sample per worker by default
  const perWorker = r['worker_memory_mb'] as { wasm_heap: number; js_heap: number }[];
  expect(perWorker).toHaveLength(workers);
  for (const m of perWorker) expect(m.wasm_heap).toBeGreaterThan(0);
}

describe('tpt bench', () => {
  it('builds weights of the exact architecture shapes from the seed alone', () => {
    const a = buildBenchWeights('tiny', 1);
    const b = buildBenchWeights('tiny', 1);
    expect(a.arch).toMatchObject({ visionLayers: [2, 1, 1, 1], visionWidth: 8, imageResolution: 64, embedDim: 32, transformerWidth: 128, transformerHeads: 2, transformerLayers: 2, visionHeads: 4 });
    expect(a.stateDict.get('visual.layer1.0.conv1.weight')!.data).toEqual(b.stateDict.get('visual.layer1.0.conv1.weight')!.data);
    const shared = buildBenchWeights('tiny', 1, { shared: true });
    expect((shared.stateDict.get('token_embedding.weight')!.data.buffer as ArrayBufferLike) instanceof SharedArrayBuffer).toBe(true);
  });

  it('builds the ViT shapes (OpenAI ViT-B/16 by name) and times a tiny ViT', async () => {
    // ViT-B/16's shapes without drawing its 150M random values: the bench table feeds the same inference.
    expect(benchArchSize('ViT-B/16')).toMatchObject({ visionLayers: 12, visionWidth: 768, visionPatchSize: 16, inputResolution: 224, embedDim: 512 });
    const vit = buildBenchWeights('tiny-vit', 1);
    expect(vit.arch).toMatchObject({ visionKind: 'vit', visionLayers: 2, visionWidth: 64, visionHeads: 1, visionPatchSize: 8, imageResolution: 64, embedDim: 32 });
    expect(archLabel(vit.arch)).toBe('ViT width 64, 2 layers, patch 8, 64px');
    const result = await runBench({ ...TINY, arch: 'tiny-vit', workers: 1, samples: 1 });
    expect(result).toMatchObject({ arch: 'tiny-vit', samples: 1, workers: 1 });
    expect(result.breakdown.image_tower).toBeGreaterThan(0);
  });

  it('times the per-sample loop in this thread (workers 1) and reports every field', async () => {
    const result = await runBench({ ...TINY, workers: 1 });
    expectReport(result as unknown as Record<string, unknown>, 1);
    expect((await runBench({ ...TINY, workers: 1, warmup: false })).warmup_samples).toBe(0);
    expect(formatBench(result)).toContain('seconds per sample');
  });

  it('--json prints one JSON line with seconds_per_sample (2 worker threads)', async () => {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      const code = await main(['node', 'tpt', 'bench', '--arch', 'tiny', '--views', '10', '--classes', '8', '--samples', '2', '--workers', '2', '--backend', 'wasm', '--json']);
      expect(code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expectReport(JSON.parse(lines[0]!) as Record<string, unknown>, 2);
  });

  it("--dataset costs a sample at that set's class count and views rule (all its classes unless --classes)", async () => {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      const code = await main(['node', 'tpt', 'bench', '--arch', 'tiny', '--views', '10', '--dataset', 'dtd', '--samples', '1', '--workers', '1', '--backend', 'wasm', '--no-warmup', '--json']);
      expect(code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const report = JSON.parse(out.trim()) as Record<string, unknown>;
    expect(report).toMatchObject({ dataset: 'dtd', classes: 47, augmix: true, samples: 1 });
    expect(formatBench(report as unknown as Parameters<typeof formatBench>[0])).toContain('10 views (AugMix), 47 classes of dtd, 1 samples');
  });

  it('--method times that method through the run\'s processor; a no-gradient method spends next to nothing beyond the image tower', async () => {
    const zero = await runBench({ ...TINY, views: 21, workers: 1, method: 'zero' });
    expect(zero).toMatchObject({ method: 'zero', views: 21 });
    const tpt = await runBench({ ...TINY, views: 21, workers: 1 });
    expect(tpt.method).toBe('tpt');
    // Zero builds no text backward: its non-image work is host arithmetic on [V, E] features.
    expect(zero.breakdown.tuning + zero.breakdown.evaluation).toBeLessThan(tpt.breakdown.tuning + tpt.breakdown.evaluation);
    expect(formatBench(zero)).toContain('method zero');
    const unknown = await main(['node', 'tpt', 'bench', '--arch', 'tiny', '--method', 'tent', '--backend', 'wasm']);
    expect(unknown).toBe(2);
  });

  it('refuses an unknown architecture and too few views with a hint', async () => {
    for (const options of [{ ...TINY, arch: 'RN49', workers: 1 }, { ...TINY, views: 4, workers: 1 }]) {
      const error = await runBench(options).catch((e: unknown) => e);
      expect(isTptError(error)).toBe(true);
      expect((error as { hint?: string }).hint).toBeTruthy();
    }
  });
});
