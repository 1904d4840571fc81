import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { IMAGENET_A_CLASSNAMES } from '../../src/data/datasets/imagenet-a.js';
import { PromptEncoder } from '../../src/model/prompt-encoder.js';
import { createPromptSetup, type PromptSetup } from '../../src/model/prompt-setup.js';
import { TextTower } from '../../src/model/text-tower.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { OnnxTextTower, textArchOf } from '../../src/onnx/onnx-text-tower.js';
import type { StateDict } from '../../src/weights/host-tensor.js';
import { maxAbs, maxAbsDiff } from '../model/helpers.js';
import { RN50_TEXT_ARCH, randomTextStateDict } from './random-text-weights.js';

/**
 * The ONNX text tower against the tfjs reference (PromptEncoder + TextTower, tf.grad) at RN50's real text
 * sizes: 200 ImageNet-A prompts of CoOp's 'end' layout (n_ctx 4), 77-token context, width 512, 8 heads,
 * 12 layers, on random weights. The loss is linear in the normalised features, sum(features ⊙ U), so the
 * upstream gradient is U itself for both engines.
 */

let stateDict: StateDict;
let tower: TextTower;
let learner: PromptSetup;
let encoder: PromptEncoder;

beforeAll(async () => {
  await initBackend('wasm');
  stateDict = randomTextStateDict(RN50_TEXT_ARCH, 7);
  tower = new TextTower(stateDict, RN50_TEXT_ARCH);
  learner = createPromptSetup({ arch: RN50_TEXT_ARCH, stateDict }, await loadTokenizer(), IMAGENET_A_CLASSNAMES, { nCtx: 4, seed: 3 });
  encoder = new PromptEncoder(tower, learner);
});

afterAll(() => {
  encoder?.dispose();
  tower?.dispose();
});

describe('ONNX text tower against the tfjs tower at RN50 size (200 ImageNet-A prompts)', () => {
  it('features to 1e-4 and d loss/d ctx to 1e-4 of its scale; 1 and 2 threads agree to 1e-6', async () => {
    const c = IMAGENET_A_CLASSNAMES.length;
    const e = RN50_TEXT_ARCH.embedDim;
    const upstream = Float32Array.from({ length: c * e }, (_, i) => Math.sin(0.37 * i + 1));
    const reference = tf.tidy(() => {
      const u = tf.tensor2d(upstream, [c, e]);
      const normalize = (x: tf.Tensor2D) => tf.div(x, tf.sqrt(tf.sum(tf.square(x), -1, true)));
      const ctx0 = tf.tensor(learner.initialCtx, [...learner.ctxShape]);
      const grad = tf.grad((ctx: tf.Tensor) => tf.sum(tf.mul(normalize(encoder.encode(ctx, true)), u)))(ctx0);
      const features = normalize(encoder.encode(ctx0, true)).dataSync() as Float32Array;
      return { features, grad: grad.dataSync() as Float32Array };
    });

    const plan = learner.plan;
    expect(plan.prefixLength).toBe(5); // SOT + 4 context vectors, run once for all 200 classes
    const ctx = learner.initialCtx;
    const create = (threads: number) => OnnxTextTower.create(stateDict, textArchOf(RN50_TEXT_ARCH), plan, { nCtx: 4, csc: false }, { threads });
    const two = await create(2);
    let first: { features: Float32Array; ctxGradient: Float32Array };
    try {
      first = await two.textFeaturesWithGradient(ctx, () => upstream);
      expect(maxAbsDiff(first.features, reference.features)).toBeLessThan(1e-4);
      expect(maxAbs(reference.grad)).toBeGreaterThan(0);
      expect(maxAbsDiff(first.ctxGradient, reference.grad) / maxAbs(reference.grad)).toBeLessThan(1e-4);
    } finally {
      await two.dispose();
    }
    // The thread count only splits work: results agree to float32 noise.
    const one = await create(1);
    try {
      const single = await one.textFeaturesWithGradient(ctx, () => upstream);
      expect(maxAbsDiff(single.features, first.features)).toBeLessThan(1e-6);
      expect(maxAbsDiff(single.ctxGradient, first.ctxGradient) / maxAbs(first.ctxGradient)).toBeLessThan(1e-6);
    } finally {
      await one.dispose();
    }
  });
});
