import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendInfo } from '../../src/backend.js';
import { IMAGENET_A_CLASSNAMES } from '../../src/data/datasets/imagenet-a.js';
import { tfjsEngineInfo } from '../../src/engine/create-towers.js';
import { TfjsClipTowers } from '../../src/engine/tfjs-towers.js';
import { createPromptSetup, type PromptSetupOptions } from '../../src/model/prompt-setup.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import { TINY_CLIP, maxAbs, maxAbsDiff } from '../model/helpers.js';

/**
 * The tfjs text gradient taken chunk by chunk (bounded tape, for 1000-class test sets) equals the one-pass
 * gradient: the chunks split plan groups mid-way (37 classes each over 200), for shared and class-specific
 * contexts and a middle-position prompt.
 */

let backend: BackendInfo;
let weights: ClipWeights;

beforeAll(async () => {
  backend = await initBackend('wasm');
  weights = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
  weights.coopCtx = await readCoopContext(join(TINY_CLIP, 'coop-tiny.pth.tar'));
});

const CASES: [string, PromptSetupOptions][] = [
  ['CoOp context, end', {}],
  ['class-specific contexts', { csc: true }],
  ['middle position', { classTokenPosition: 'middle' }],
];

describe('chunked text gradient on tfjs', () => {
  it.each(CASES)('%s: equals the one-pass gradient, features included', async (_, options) => {
    const setup = createPromptSetup(weights, await loadTokenizer(), IMAGENET_A_CLASSNAMES, options);
    const onePass = TfjsClipTowers.create(weights, setup, tfjsEngineInfo(backend));
    const chunked = TfjsClipTowers.create(weights, setup, tfjsEngineInfo(backend), { textGradientChunk: 37 });
    try {
      expect(onePass.gradientChunk).toBeGreaterThanOrEqual(200);
      expect(chunked.model.classChunks(37).map((c) => c.classes.length)).toEqual([...Array<number>(5).fill(37), 15]);
      const ctx = Float32Array.from(setup.initialCtx, (v, i) => v + 0.01 * Math.sin(i));
      // A fixed dL/dfeatures that differs per class, so a misplaced row would show.
      const upstream = (features: Float32Array) => Float32Array.from(features, (f, i) => f * 0.5 + Math.cos(i * 0.37));
      await onePass.textFeaturesWithGradient(ctx, upstream); // the text tower caches its causal masks on first use
      await chunked.textFeaturesWithGradient(ctx, upstream);
      const tensors = tf.memory().numTensors;
      const a = await onePass.textFeaturesWithGradient(ctx, upstream);
      const b = await chunked.textFeaturesWithGradient(ctx, upstream);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(maxAbsDiff(b.features, a.features)).toBe(0);
      expect(maxAbs(a.ctxGradient)).toBeGreaterThan(0);
      expect(maxAbsDiff(b.ctxGradient, a.ctxGradient)).toBeLessThan(1e-5 * maxAbs(a.ctxGradient));
    } finally {
      await onePass.dispose();
      await chunked.dispose();
    }
  });
});
