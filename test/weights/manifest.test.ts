import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { expectedClipShapes, type ClipArch } from '../../src/weights/arch.js';
import { numel, type StateDict } from '../../src/weights/host-tensor.js';
import type { ClipWeights } from '../../src/weights/load.js';
import { readWeightsFolder, writeWeightsFolder, type WeightsManifestJson } from '../../src/weights/manifest.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../src/weights/materialize.js';

/** A small ResNet CLIP with deterministic values: fp16-representable weights, fp32 norms, int32 counters. */
const ARCH: ClipArch = {
  visionKind: 'resnet',
  embedDim: 8,
  imageResolution: 64,
  visionLayers: [1, 1, 1, 1],
  visionWidth: 4,
  visionHeads: 2,
  contextLength: 5,
  vocabSize: 11,
  transformerWidth: 8,
  transformerHeads: 1,
  transformerLayers: 1,
};

function syntheticWeights(): ClipWeights {
  const stateDict: StateDict = new Map();
  let seed = 1;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 4 - 2;
  for (const [name, shape] of expectedClipShapes(ARCH)) {
    const n = numel(shape);
    if (name.endsWith('num_batches_tracked')) {
      stateDict.set(name, { dtype: 'int32', shape, data: Int32Array.of(7) });
    } else if (name.endsWith('.weight') && shape.length >= 2) {
      // round through fp16 so the values are what an fp16 checkpoint would hold
      const data = float16BitsToFloat32(float32ToFloat16Bits(Float32Array.from({ length: n }, next)));
      stateDict.set(name, { dtype: 'float16', shape, data });
    } else {
      stateDict.set(name, { dtype: 'float32', shape, data: Float32Array.from({ length: n }, next) });
    }
  }
  const ctx = { dtype: 'float32' as const, shape: [4, 8], data: Float32Array.from({ length: 32 }, next) };
  return { arch: ARCH, stateDict, coopCtx: ctx, coopSource: 'model.pth.tar-50', source: 'synthetic.pt' };
}

describe('weights folder', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tpt-manifest-'));
  beforeAll(async () => {
    await initBackend('cpu');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('write → read is exact: names, order, dtypes, shapes and bits', async () => {
    const w = syntheticWeights();
    const dir = join(tmp, 'exact');
    const written = await writeWeightsFolder(dir, w);
    expect(written.files).toEqual(['model.json', 'group1-shard1of1.bin']);
    const back = await readWeightsFolder(dir);
    expect(back.arch).toEqual(ARCH);
    expect(back.source).toBe('synthetic.pt');
    expect(back.coopSource).toBe('model.pth.tar-50');
    expect(back.bpePath).toBeUndefined();
    expect([...back.stateDict.keys()]).toEqual([...w.stateDict.keys()]);
    for (const [name, t] of w.stateDict) {
      const b = back.stateDict.get(name)!;
      expect({ dtype: b.dtype, shape: b.shape }).toEqual({ dtype: t.dtype, shape: t.shape });
      const same = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      expect(same, name).toBe(true);
    }
    expect(back.coopCtx).toEqual(w.coopCtx);
  });

  test('a folder written before ViT support (arch without visionKind) reads as the ResNet it holds', async () => {
    const dir = join(tmp, 'legacy-arch');
    await writeWeightsFolder(dir, syntheticWeights());
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as WeightsManifestJson;
    delete (json.arch as Partial<ClipArch>).visionKind;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    expect((await readWeightsFolder(dir)).arch).toEqual(ARCH);
  });

  test('TensorFlow.js decodes the shards to the same values (the manifest is tfjs-compatible)', async () => {
    const w = syntheticWeights();
    const dir = join(tmp, 'tfjs');
    await writeWeightsFolder(dir, w);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as WeightsManifestJson;
    const group = json.weightsManifest[0]!;
    const bytes = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))));
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const decoded = tf.io.decodeWeights(buffer, group.weights as tf.io.WeightsManifestEntry[]);
    try {
      for (const name of ['visual.conv1.weight', 'visual.bn1.running_mean', 'visual.bn1.num_batches_tracked', 'prompt_learner.ctx']) {
        const mine = name === 'prompt_learner.ctx' ? w.coopCtx! : w.stateDict.get(name)!;
        expect(decoded[name]!.shape, name).toEqual(mine.shape);
        expect(Array.from(decoded[name]!.dataSync()), name).toEqual(Array.from(mine.data as Float32Array | Int32Array));
      }
    } finally {
      tf.dispose(decoded);
    }
  });

  test('re-converting into the same folder leaves no stale shards', async () => {
    const dir = join(tmp, 'again');
    await writeWeightsFolder(dir, syntheticWeights());
    writeFileSync(join(dir, 'group1-shard7of9.bin'), 'old');
    writeFileSync(join(dir, 'notes.txt'), 'kept');
    await writeWeightsFolder(dir, syntheticWeights());
    expect(readdirSync(dir).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'notes.txt']);
  });

  test('a folder with a missing shard or a foreign model.json is refused with a hint', async () => {
    const dir = join(tmp, 'broken');
    await writeWeightsFolder(dir, syntheticWeights());
    unlinkSync(join(dir, 'group1-shard1of1.bin'));
    await expect(readWeightsFolder(dir)).rejects.toMatchObject({ code: 'WEIGHTS_BAD_MANIFEST', hint: expect.stringContaining('tpt convert') });
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
    await expect(readWeightsFolder(dir)).rejects.toThrow(/not a tpt CLIP weights manifest/);
    await expect(readWeightsFolder(join(tmp, 'nothing-here'))).rejects.toMatchObject({ code: 'WEIGHTS_NOT_FOUND' });
  });

  test('float16 encoding rounds to nearest even and keeps specials', () => {
    const values = Float32Array.of(0, -0, 1, 65504, 65520, 1e-8, 5.960464477539063e-8, 2.9802322387695312e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, Infinity, -Infinity);
    const back = float16BitsToFloat32(float32ToFloat16Bits(values));
    expect(Array.from(back)).toEqual([0, -0, 1, 65504, Infinity, 0, 5.960464477539063e-8, 0, 1, 1 + 2 ** -9, Infinity, -Infinity]);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(Float32Array.of(NaN)))[0])).toBe(true);
  });
});
