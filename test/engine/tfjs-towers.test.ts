import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { createClipTowers, NATIVE_ENGINES, selectEngine, tfjsEngineInfo } from '../../src/engine/create-towers.js';
import { TfjsClipTowers } from '../../src/engine/tfjs-towers.js';
import { TptError } from '../../src/errors.js';
import { LOSSES } from '../../src/losses/registry.js';
import { clipLogits } from '../../src/model/logits.js';
import { createPromptSetup, type PromptSetup } from '../../src/model/prompt-setup.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { TestTimeTuner } from '../../src/tta/engine.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import { TINY_CLIP, maxAbs, maxAbsDiff } from '../model/helpers.js';

/**
 * The tfjs engine behind the host-array boundary (`ClipTowers`): the one-pass vector–Jacobian product equals
 * differentiating the loss through the towers in one graph, bit for bit; nothing leaks per call or per sample;
 * the registry resolves choices to engines and refuses an engine this build lacks.
 */

const CLASSES = ['stingray', 'American robin', 'sulphur-crested cockatoo', 'German Shepherd Dog', 'broom', 'school bus', 'jay', 'bald eagle'];
const LOSS_CTX = { n_aug: 5, n_patches: 0, selection_p_all: 0.5, selection_p_patch: 0.9, alpha_exponential_weightening: 1 };

let weights: ClipWeights;
let setup: PromptSetup;
let towers: TfjsClipTowers;

beforeAll(async () => {
  const backend = await initBackend('wasm');
  weights = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
  weights.coopCtx = await readCoopContext(join(TINY_CLIP, 'coop-tiny.pth.tar'));
  setup = createPromptSetup(weights, await loadTokenizer(), CLASSES);
  towers = TfjsClipTowers.create(weights, setup, tfjsEngineInfo(backend));
});

const size = 64;
const views = (count: number, seed: number) => tf.tidy(() => tf.randomNormal([count, size, size, 3], 0, 1, 'float32', seed).dataSync() as Float32Array);
/** A context away from CoOp's, so the gradient is not that of a special point. */
const movedContext = () => tf.tidy(() => tf.add(tf.tensor(setup.initialCtx), tf.randomNormal([setup.initialCtx.length], 0, 0.02, 'float32', 7)).dataSync() as Float32Array);

describe('TfjsClipTowers', () => {
  it('textFeaturesWithGradient equals the loss differentiated through the towers in one graph (exactly)', async () => {
    const image = await towers.encodeImages(views(6, 1), 6, size);
    const ctx = movedContext();
    const loss = LOSSES.defaultTPT.fn;
    const imageT = tf.tensor2d(image, [6, towers.embedDim]);
    const { features, ctxGradient } = await towers.textFeaturesWithGradient(ctx, (text) =>
      tf.tidy(() => new Float32Array(tf.grad((t: tf.Tensor) => loss(clipLogits(imageT, t as tf.Tensor2D, towers.logitScale), LOSS_CTX))(tf.tensor2d(text, [CLASSES.length, towers.embedDim])).dataSync())),
    );
    const oneGraph = tf.tidy(() => {
      const c = tf.tensor(ctx, [...towers.ctxShape]);
      const grad = tf.grad((x: tf.Tensor) => loss(clipLogits(imageT, towers.model.textFeatures(x), towers.logitScale), LOSS_CTX))(c);
      return { grad: grad.dataSync().slice(), text: towers.model.textFeatures(c).dataSync().slice() };
    });
    imageT.dispose();
    expect(ctxGradient.length).toBe(setup.initialCtx.length);
    expect(maxAbs(ctxGradient)).toBeGreaterThan(0);
    expect(maxAbsDiff(ctxGradient, oneGraph.grad)).toBe(0);
    expect(maxAbsDiff(features, oneGraph.text)).toBe(0);
    expect(maxAbsDiff(await towers.textFeatures(ctx), oneGraph.text)).toBe(0);
  });

  it('encodeImages returns L2-normalised rows', async () => {
    const image = await towers.encodeImages(views(3, 2), 3, size);
    expect(image.length).toBe(3 * towers.embedDim);
    for (let v = 0; v < 3; v++) {
      const row = image.subarray(v * towers.embedDim, (v + 1) * towers.embedDim);
      expect(Math.abs(Math.sqrt(row.reduce((s, x) => s + x * x, 0)) - 1)).toBeLessThan(1e-5);
    }
  });

  it('releases every tensor per call and per sample (tf.memory().numTensors flat over several samples)', async () => {
    const tuner = new TestTimeTuner(towers, { loss: 'defaultTPT', lossContext: LOSS_CTX, learningRate: 5e-3, ttaSteps: 2 });
    await tuner.baseTextFeatures();
    const before = tf.memory().numTensors;
    const outcomes = [];
    for (let seed = 10; seed < 13; seed++) {
      outcomes.push(await tuner.tuneSample({ data: views(6, seed), count: 6, size }));
      expect(tf.memory().numTensors).toBe(before);
    }
    await towers.textFeaturesWithGradient(movedContext(), (text) => new Float32Array(text.length).fill(1));
    expect(tf.memory().numTensors).toBe(before);
    // Different views, different tuned logits; every sample starts from the initial context.
    expect(maxAbsDiff(outcomes[0]!.tptLogits, outcomes[1]!.tptLogits)).toBeGreaterThan(0);
    const again = await tuner.tuneSample({ data: views(6, 10), count: 6, size });
    expect(Array.from(again.tptLogits)).toEqual(Array.from(outcomes[0]!.tptLogits));
  });
});

describe('engine registry', () => {
  it('names the engine and its provider; a tfjs choice builds tfjs towers', async () => {
    const engine = await selectEngine('wasm');
    expect(engine.info).toMatchObject({ engine: 'tfjs', provider: 'wasm', gpu: false });
    expect(engine.fallbacks).toEqual([]);
    const built = await createClipTowers('wasm', weights, setup);
    expect(built.towers).toBeInstanceOf(TfjsClipTowers);
    expect(built.towers.initialCtx).toBe(setup.initialCtx);
    await built.towers.dispose();
  });

  it('auto prefers the native engine when it loads', async () => {
    const auto = await selectEngine('auto', { threads: 1 });
    expect(auto.info).toMatchObject({ engine: 'onnxruntime', provider: 'cpu', gpu: false });
    expect(auto.info.detail).toMatch(/^onnxruntime-node \d+\.\d+\.\d+ \(CPU, 1 thread\)$/);
    expect(auto.fallbacks).toEqual([]);
  });

  it('a native engine that cannot load is ENGINE_UNAVAILABLE when asked for; auto falls back to tfjs and says why', async () => {
    const real = NATIVE_ENGINES.onnxruntime!;
    NATIVE_ENGINES.onnxruntime = {
      ...real,
      select: async () => {
        throw new TptError('ENGINE_UNAVAILABLE', 'onnxruntime-node could not be loaded: simulated broken install', { hint: 'Reinstall, or use --backend wasm.' });
      },
    };
    try {
      await expect(selectEngine('onnxruntime')).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE', hint: expect.stringMatching(/--backend/) });
      const auto = await selectEngine('auto');
      expect(auto.info.engine).toBe('tfjs');
      expect(auto.fallbacks).toEqual(['onnxruntime: onnxruntime-node could not be loaded: simulated broken install']);
    } finally {
      NATIVE_ENGINES.onnxruntime = real;
    }
  });
});
