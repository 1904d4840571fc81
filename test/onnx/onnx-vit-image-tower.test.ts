import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { buildBenchWeights } from '../../src/bench/bench-model.js';
import { Rng } from '../../src/data/rng.js';
import type { ModelWeights } from '../../src/model/model-weights.js';
import { VisionTransformerTower } from '../../src/model/vit.js';
import { OnnxImageTower } from '../../src/onnx/onnx-image-tower.js';
import { maxAbs, maxAbsDiff } from '../model/helpers.js';

/**
 * The ONNX ViT image graph (src/onnx/vit-image-graph.ts, through OnnxImageTower) against the tfjs ViT tower
 * (src/model/vit.ts) at ViT-B/16's real shapes on random weights. A file of its own: the weights are ~600 MB.
 */

let vit: ModelWeights;
const count = 2;
let input: Float32Array;

beforeAll(async () => {
  await initBackend('wasm');
  vit = buildBenchWeights('ViT-B/16', 11);
  const size = vit.arch.imageResolution;
  const rng = Rng.fromSeed(9);
  input = new Float32Array(count * size * size * 3);
  for (let i = 0; i < input.length; i++) input[i] = rng.normal();
});

afterAll(() => {
  vit = undefined as unknown as ModelWeights;
});

describe('ONNX ViT image tower: ViT-B/16 shapes (random weights) against the tfjs tower', () => {
  it('224 px, patch 16, width 768, 12 layers, 12 heads, 512-d: equal to 1e-4 on 2 views', async () => {
    const arch = vit.arch;
    if (arch.visionKind !== 'vit') throw new Error('expected a ViT arch');
    expect([arch.imageResolution, arch.visionPatchSize, arch.visionWidth, arch.visionLayers, arch.visionHeads, arch.embedDim]).toEqual([224, 16, 768, 12, 12, 512]);
    const size = arch.imageResolution;

    const reference = new VisionTransformerTower(vit.stateDict, arch);
    const expected = tf.tidy(() => {
      const raw = reference.encode(tf.tensor4d(input, [count, size, size, 3]));
      return tf.div(raw, tf.norm(raw, 'euclidean', -1, true)).dataSync() as Float32Array;
    });
    reference.dispose();
    expect(expected.length).toBe(count * 512);
    expect(maxAbs(expected)).toBeGreaterThan(0.01); // not degenerate
    // The two views differ, so a mix-up of views would show.
    expect(maxAbsDiff(expected.subarray(0, 512), expected.subarray(512))).toBeGreaterThan(0.01);

    const tower = await OnnxImageTower.create(vit.stateDict, arch, { threads: 2 });
    try {
      const got = await tower.encodeImages(input, count, size);
      expect(maxAbsDiff(got, expected)).toBeLessThan(1e-4);
    } finally {
      await tower.dispose();
    }
  });
});
