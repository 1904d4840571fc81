import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_WNIDS, demoImageList } from '../../src/demo/demo-dataset.js';
import { DEMO_CLIP_SIZE } from '../../src/demo/demo-model.js';
import { ensureDemoInputs } from '../../src/demo/demo-inputs.js';
import type { DemoInputs } from '../../src/demo/demo-inputs.js';
import { expectedClipShapes } from '../../src/weights/arch.js';
import { loadClipWeights } from '../../src/weights/load.js';
import { IMAGENET_A_WNIDS } from '../../src/data/datasets/imagenet-a.js';

let a: DemoInputs;
let b: DemoInputs;

beforeAll(async () => {
  a = await ensureDemoInputs(mkdtempSync(join(tmpdir(), 'tpt-demo-a-')));
  b = await ensureDemoInputs(mkdtempSync(join(tmpdir(), 'tpt-demo-b-')));
});

describe('demo inputs', () => {
  it('are byte-identical when built twice, and reused when they still match', async () => {
    expect(a.built && b.built).toBe(true);
    expect(Object.keys(a.files).length).toBeGreaterThan(15);
    for (const file of Object.keys(a.files)) {
      expect(readFileSync(join(b.root, file)).equals(readFileSync(join(a.root, file))), file).toBe(true);
    }
    expect(b.files).toEqual(a.files);

    const again = await ensureDemoInputs(a.root);
    expect(again.built).toBe(false);
    // an edited file is noticed and the inputs are rebuilt to the same bytes
    const victim = Object.keys(a.files).find((f) => f.endsWith('.png')) as string;
    writeFileSync(join(a.root, victim), 'edited');
    const rebuilt = await ensureDemoInputs(a.root);
    expect(rebuilt.built).toBe(true);
    expect(rebuilt.files).toEqual(a.files);
  });

  it('hold ImageNet-A class folders with JPEG and PNG images of mixed sizes', async () => {
    const list = demoImageList();
    expect(new Set(list.map((i) => i.file.split('/')[0]))).toEqual(new Set(DEMO_WNIDS));
    for (const wnid of DEMO_WNIDS) expect(IMAGENET_A_WNIDS).toContain(wnid);
    const inputs = b;
    const seen = new Set<string>();
    for (const image of list) {
      const meta = await sharp(join(inputs.datasetDir, image.file)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([image.format, image.width, image.height]);
      seen.add(`${meta.width}x${meta.height}`);
    }
    expect(seen.size).toBeGreaterThanOrEqual(6);
    expect(list.some((i) => i.width > i.height) && list.some((i) => i.width < i.height)).toBe(true);
  });

  it('hold a CLIP whose state_dict has exactly the shapes build_model expects, with a CoOp ctx', async () => {
    const weights = await loadClipWeights(b.weightsDir);
    const clip = weights;
    expect(weights.arch).toMatchObject({
      visionLayers: [1, 1, 1, 1],
      visionWidth: 16,
      imageResolution: 64,
      embedDim: 64,
      contextLength: 77,
      vocabSize: 49408,
      transformerWidth: 64,
      transformerHeads: 1,
      transformerLayers: 2,
    });
    const expected = expectedClipShapes(weights.arch);
    expect(new Set(clip.stateDict.keys())).toEqual(new Set(expected.keys()));
    for (const [name, shape] of expected) expect(clip.stateDict.get(name)?.shape, name).toEqual(shape);
    expect(weights.coopCtx?.shape).toEqual([DEMO_CLIP_SIZE.nCtx, DEMO_CLIP_SIZE.transformerWidth]);
    // CLIP's init scales: token embedding std 0.02, logit scale ln(1/0.07)
    const emb = Float32Array.from(clip.stateDict.get('token_embedding.weight')!.data as ArrayLike<number>);
    const std = Math.sqrt(emb.reduce((s, v) => s + v * v, 0) / emb.length);
    expect(std).toBeCloseTo(0.02, 3);
    expect(Number((clip.stateDict.get('logit_scale')!.data as ArrayLike<number>)[0])).toBeCloseTo(Math.log(1 / 0.07), 5);
  });
});
