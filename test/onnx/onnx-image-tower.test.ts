import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { buildBenchWeights } from '../../src/bench/bench-model.js';
import { Rng } from '../../src/data/rng.js';
import { ImageTower } from '../../src/model/image-tower.js';
import type { ModelWeights } from '../../src/model/model-weights.js';
import { OnnxImageTower } from '../../src/onnx/onnx-image-tower.js';
import { preferredProviders } from '../../src/onnx/runtime.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { MODEL_FIXTURES, TINY_CLIP, maxAbs, maxAbsDiff, readNpy } from '../model/helpers.js';

/**
 * The ONNX Runtime image tower against PyTorch (the tiny CLIP's committed goldens) and against the tfjs
 * reference tower at RN50's real shapes; its results must not depend on the thread count or the chunking.
 * Memory is tested in onnx-image-tower-memory.test.ts, in a process of its own.
 */

const views = readNpy(join(MODEL_FIXTURES, 'views.npy')); // [N, 64, 64, 3]
let tiny: ClipWeights;

beforeAll(async () => {
  tiny = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
});

function randomViews(count: number, size: number, seed: number): Float32Array {
  const rng = Rng.fromSeed(seed);
  const data = new Float32Array(count * size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return data;
}

function rowNorms(features: Float32Array, dim: number): number[] {
  const norms: number[] = [];
  for (let r = 0; r < features.length / dim; r++) norms.push(Math.hypot(...features.subarray(r * dim, (r + 1) * dim)));
  return norms;
}

describe('ONNX image tower: tiny CLIP against PyTorch', () => {
  it('L2-normalised image features match the PyTorch goldens to 1e-4, whatever the chunking', async () => {
    const expected = readNpy(join(MODEL_FIXTURES, 'image_features.npy'));
    const [count, size] = views.shape as [number, number];
    expect(expected.shape).toEqual([count, tiny.arch.embedDim]);
    for (const chunkSize of [16, 3]) {
      const tower = await OnnxImageTower.create(tiny.stateDict, tiny.arch, { threads: 1, chunkSize });
      try {
        const got = await tower.encodeImages(views.data, count, size);
        expect(got.length).toBe(expected.data.length);
        expect(maxAbsDiff(got, expected.data)).toBeLessThan(1e-4);
        for (const norm of rowNorms(got, tiny.arch.embedDim)) expect(norm).toBeCloseTo(1, 5);
      } finally {
        await tower.dispose();
      }
    }
  });

  it('refuses views of the wrong size and use after dispose', async () => {
    const tower = await OnnxImageTower.create(tiny.stateDict, tiny.arch, { threads: 1 });
    const size = tiny.arch.imageResolution;
    await expect(tower.encodeImages(new Float32Array(2 * 32 * 32 * 3), 2, 32)).rejects.toThrow(/expects \[N, 64, 64, 3\]/);
    await expect(tower.encodeImages(new Float32Array(size * size * 3), 2, size)).rejects.toThrow(/for 2 views/);
    await tower.dispose();
    await tower.dispose(); // idempotent
    await expect(tower.encodeImages(new Float32Array(size * size * 3), 1, size)).rejects.toThrow(/after dispose/);
  });
});

const ortPackage = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
const cudaInstalled = existsSync(join(ortPackage, 'bin/napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));

describe.skipIf(cudaInstalled)('ONNX image tower: providers without the CUDA provider library (the default install)', () => {
  it("defaults to the CPU alone (onnxruntime-node lists 'cuda' on linux-x64 even without its library)", async () => {
    expect(await preferredProviders()).toEqual(['cpu']);
    const tower = await OnnxImageTower.create(tiny.stateDict, tiny.arch, { threads: 1 });
    expect(tower.providers).toEqual(['cpu']);
    await tower.dispose();
  });

  it('asked for CUDA all the same, it fails as ENGINE_UNAVAILABLE with a hint (a user-fixable setup, not a bug)', async () => {
    await expect(OnnxImageTower.create(tiny.stateDict, tiny.arch, { threads: 1, providers: ['cuda', 'cpu'] })).rejects.toMatchObject({
      code: 'ENGINE_UNAVAILABLE',
      message: expect.stringMatching(/CUDA provider/),
      hint: expect.stringMatching(/cuDNN 9.*--backend wasm/),
    });
  });
});

describe('ONNX image tower: RN50 shapes (random weights) against the tfjs tower', () => {
  let rn50: ModelWeights;
  const count = 2;
  let input: Float32Array;

  beforeAll(async () => {
    await initBackend('wasm');
    rn50 = buildBenchWeights('RN50', 7);
    input = randomViews(count, rn50.arch.imageResolution, 5);
  });

  afterAll(() => {
    // the RN50 state_dict is about 400 MB; let the next file's fork start lighter
    rn50 = undefined as unknown as ModelWeights;
  });

  it('224 px, width 64, layers 3-4-6-3, 32 heads, 1024-d: equal to 1e-4 on 2 views, and 1 vs 2 threads to 1e-6', async () => {
    const arch = rn50.arch;
    expect([arch.imageResolution, arch.visionWidth, [...arch.visionLayers], arch.visionHeads, arch.embedDim]).toEqual([224, 64, [3, 4, 6, 3], 32, 1024]);
    const size = arch.imageResolution;

    const reference = new ImageTower(rn50.stateDict, arch);
    const expected = tf.tidy(() => {
      const raw = reference.encode(tf.tensor4d(input, [count, size, size, 3]));
      return tf.div(raw, tf.norm(raw, 'euclidean', -1, true)).dataSync() as Float32Array;
    });
    reference.dispose();
    expect(maxAbs(expected)).toBeGreaterThan(0.01); // not degenerate

    const results: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const tower = await OnnxImageTower.create(rn50.stateDict, arch, { threads });
      try {
        results.push(await tower.encodeImages(input, count, size));
      } finally {
        await tower.dispose();
      }
    }
    expect(maxAbsDiff(results[0]!, expected)).toBeLessThan(1e-4);
    expect(maxAbsDiff(results[1]!, results[0]!)).toBeLessThan(1e-6);
  });
});
