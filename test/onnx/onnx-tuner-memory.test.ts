import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { IMAGENET_A_CLASSNAMES } from '../../src/data/datasets/imagenet-a.js';
import { selectEngine } from '../../src/engine/create-towers.js';
import { createPromptSetup } from '../../src/model/prompt-setup.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { OnnxClipTowers } from '../../src/onnx/onnx-towers.js';
import { TestTimeTuner, type SampleViews } from '../../src/tta/engine.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { MODEL_FIXTURES, TINY_CLIP, readNpy } from '../model/helpers.js';
import { MB, settledRss } from './settled-rss.js';

/**
 * The ONNX path at the tuner level: 20 samples through TestTimeTuner over OnnxClipTowers on the tiny CLIP
 * (all 200 ImageNet-A prompts, the seed's defaultTPT loss and one step). The tfjs tensors the losses use are
 * all released (numTensors flat), the process's RSS stays bounded, and dispose() releases both sessions.
 * A file of its own so that no earlier test's freed memory hides growth (vitest forks per file).
 */

const views = readNpy(join(MODEL_FIXTURES, 'views.npy')); // [N, 64, 64, 3]
let weights: ClipWeights;

beforeAll(async () => {
  await initBackend('wasm');
  weights = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'), { coop: join(TINY_CLIP, 'coop-tiny.pth.tar') });
});

describe('TestTimeTuner over OnnxClipTowers: memory', () => {
  it('20 samples keep tf.memory().numTensors flat and the RSS bounded; dispose() refuses later use', async () => {
    const setup = createPromptSetup(weights, await loadTokenizer(), IMAGENET_A_CLASSNAMES);
    const engine = await selectEngine('onnxruntime', { threads: 1 });
    const towers = await engine.create(weights, setup);
    expect(towers).toBeInstanceOf(OnnxClipTowers);
    const tuner = new TestTimeTuner(towers, {
      loss: 'defaultTPT',
      lossContext: { n_aug: 15, n_patches: 0, selection_p_all: 0.5, selection_p_patch: 0.9, alpha_exponential_weightening: 1 },
      learningRate: 5e-3,
      ttaSteps: 1,
    });
    const [count, size] = views.shape as [number, number];
    const sample: SampleViews = { data: views.data.subarray(0, 16 * size * size * 3), count: Math.min(16, count), size };
    await tuner.baseTextFeatures();
    for (let i = 0; i < 3; i++) await tuner.tuneSample(sample); // warm-up: ORT's arenas grow to their working size
    const tensors = tf.memory().numTensors;
    const before = settledRss();
    let first: Float32Array | undefined;
    for (let i = 0; i < 20; i++) {
      const outcome = await tuner.tuneSample(sample);
      first ??= outcome.tptLogits;
      // Every sample starts afresh: the same views give the same result.
      expect(Array.from(outcome.tptLogits)).toEqual(Array.from(first));
      expect(tf.memory().numTensors).toBe(tensors);
    }
    const grown = (settledRss() - before) / MB;
    if (process.env.TPT_MEMORY_REPORT) process.stdout.write(`tuner RSS growth over 20 samples: ${grown.toFixed(1)} MB\n`);
    // One sample's text trace (200 prompts) is several MB; leaking it or the sessions' outputs would add ≥ 60 MB.
    expect(grown).toBeLessThan(24);

    await towers.dispose();
    await expect(towers.encodeImages(sample.data, sample.count, size)).rejects.toThrow(/after dispose/);
    await expect(towers.textFeatures(towers.initialCtx)).rejects.toThrow(/after dispose/);
    await expect(tuner.tuneSample(sample)).rejects.toThrow(/after dispose/);
  });
});
