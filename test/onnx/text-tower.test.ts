import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { createPromptSetup, type PromptSetup } from '../../src/model/prompt-setup.js';
import { loadTokenizer, type ClipTokenizer } from '../../src/model/tokenizer.js';
import { OnnxTextTower, fullPromptPlan, textArchOf, type OnnxPromptPlan } from '../../src/onnx/onnx-text-tower.js';
import type { BackwardMode } from '../../src/onnx/text-graphs.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import type { HostTensor } from '../../src/weights/host-tensor.js';
import { MODEL_FIXTURES, TINY_CLIP, maxAbs, maxAbsDiff, readNpy, tptEntropyLoss } from '../model/helpers.js';
import { promptOptionsOf, readModelGoldens, type ModelGoldenCase } from '../model/golden-cases.js';

const golden = readModelGoldens('cases.json');

let weights: ClipWeights;
let coopCtx: HostTensor;
let tokenizer: ClipTokenizer;
/** PyTorch's L2-normalised image features of the fixture views [V, E]. */
const imageFeatures = readNpy(join(MODEL_FIXTURES, 'image_features.npy'));

beforeAll(async () => {
  await initBackend('wasm');
  weights = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
  coopCtx = await readCoopContext(join(TINY_CLIP, 'coop-tiny.pth.tar'));
  tokenizer = await loadTokenizer();
});

/** The seed's prompt learner for a golden case (its slots, EOT positions and initial ctx), as the host prompt setup. */
function learnerFor(c: ModelGoldenCase): { learner: PromptSetup; ctx: Float32Array } {
  const learner = createPromptSetup({ ...weights, coopCtx: undefined }, tokenizer, c.classnames, promptOptionsOf(c, coopCtx));
  return { learner, ctx: learner.initialCtx };
}

/** dL/d(text features) [C, E] of the golden loss (TPT entropy of logit_scale·image·textᵀ) in tfjs. */
function entropyUpstream(features: Float32Array, numClasses: number): Float32Array {
  return tf.tidy(() => {
    const image = tf.tensor2d(imageFeatures.data, imageFeatures.shape as [number, number]);
    const e = imageFeatures.shape[1]!;
    const loss = (text: tf.Tensor) => tptEntropyLoss(tf.mul(tf.matMul(image, tf.transpose(text)), golden.logit_scale) as tf.Tensor2D, golden.selection_p);
    return tf.grad(loss)(tf.tensor2d(features, [numClasses, e])).dataSync() as Float32Array;
  });
}

async function towerFor(learner: PromptSetup, plan: OnnxPromptPlan, backward: BackwardMode = 'saved', threads = 1): Promise<OnnxTextTower> {
  return OnnxTextTower.create(weights.stateDict, textArchOf(weights.arch), plan, { nCtx: learner.nCtx, csc: learner.csc }, { threads, backward });
}

const shortcutPlan = (l: PromptSetup) => l.plan;

describe('ONNX text tower against PyTorch (tiny CLIP goldens)', () => {
  for (const c of golden.cases) {
    it(`${c.name}: text features, logits and d loss/d ctx`, async () => {
      const { learner, ctx: initialCtx } = learnerFor(c);
      expect(learner.eotIndex).toEqual(c.eot);
      const ctx = initialCtx;
      const tower = await towerFor(learner, shortcutPlan(learner));
      try {
        const text = await tower.textFeatures(ctx);
        expect(maxAbsDiff(text, readNpy(join(MODEL_FIXTURES, `${c.name}.text.npy`)).data)).toBeLessThan(1e-4);
        const logits = tf.tidy(() =>
          tf.mul(tf.matMul(tf.tensor2d(imageFeatures.data, imageFeatures.shape as [number, number]), tf.tensor2d(text, [c.classnames.length, weights.arch.embedDim]), false, true), golden.logit_scale).dataSync(),
        );
        expect(maxAbsDiff(logits, readNpy(join(MODEL_FIXTURES, `${c.name}.logits.npy`)).data)).toBeLessThan(1e-4 * golden.logit_scale);

        const { features, ctxGradient } = await tower.textFeaturesWithGradient(ctx, (f) => entropyUpstream(f, c.classnames.length));
        expect(maxAbsDiff(features, text)).toBe(0);
        const expected = readNpy(join(MODEL_FIXTURES, `${c.name}.grad.npy`)).data;
        expect(maxAbs(expected)).toBeGreaterThan(0);
        expect(maxAbsDiff(ctxGradient, expected) / maxAbs(expected)).toBeLessThan(1e-4);
      } finally {
        await tower.dispose();
      }
    });
  }
});

describe('ONNX text tower: exact paths agree', () => {
  // 12 classes of 1–5 BPE tokens: several groups; end (prefix 5), middle (3), front (1), csc (1).
  const cases = golden.cases.filter((c) => c.classnames.length <= 20);
  const EXPECTED_PREFIX: Record<string, number> = { coop_middle: 3, coop_front: 1, coop_csc_end: 1, photo_csc_middle: 1, cls_split_middle: 4 };

  for (const c of cases) {
    it(`${c.name}: full 77-token prompts equal the shortcut plan; recomputed backward equals saved`, async () => {
      const { learner, ctx: initialCtx } = learnerFor(c);
      const ctx = initialCtx.slice();
      // Make csc contexts differ per class, so a mix-up between classes would show.
      if (learner.csc) for (let i = 0; i < ctx.length; i++) ctx[i] = ctx[i]! + 0.02 * Math.sin(i);
      const upstream = (f: Float32Array) => entropyUpstream(f, c.classnames.length);
      const fast = await towerFor(learner, shortcutPlan(learner));
      const full = await towerFor(learner, fullPromptPlan(learner.slots, learner.eotIndex, learner.csc));
      const recompute = await towerFor(learner, shortcutPlan(learner), 'recompute');
      try {
        // The shared prefix is exercised: SOT (+ the context before the class name without csc).
        expect(shortcutPlan(learner).prefixLength).toBe(EXPECTED_PREFIX[c.name]);
        const a = await fast.textFeaturesWithGradient(ctx, upstream);
        const b = await full.textFeaturesWithGradient(ctx, upstream);
        const r = await recompute.textFeaturesWithGradient(ctx, upstream);
        expect(maxAbsDiff(a.features, b.features)).toBeLessThan(1e-5);
        expect(maxAbs(b.ctxGradient)).toBeGreaterThan(0);
        expect(maxAbsDiff(a.ctxGradient, b.ctxGradient) / maxAbs(b.ctxGradient)).toBeLessThan(1e-4);
        expect(maxAbsDiff(a.features, r.features)).toBe(0);
        expect(maxAbsDiff(a.ctxGradient, r.ctxGradient) / maxAbs(a.ctxGradient)).toBeLessThan(1e-6);
      } finally {
        await Promise.all([fast.dispose(), full.dispose(), recompute.dispose()]);
      }
    });
  }

  it('results do not depend on the thread count (1 vs 2)', async () => {
    const c = golden.cases.find((x) => x.name === 'coop_middle')!;
    const { learner, ctx: initialCtx } = learnerFor(c);
    const ctx = initialCtx;
    const upstream = (f: Float32Array) => entropyUpstream(f, c.classnames.length);
    const one = await towerFor(learner, shortcutPlan(learner), 'saved', 1);
    const two = await towerFor(learner, shortcutPlan(learner), 'saved', 2);
    try {
      const a = await one.textFeaturesWithGradient(ctx, upstream);
      const b = await two.textFeaturesWithGradient(ctx, upstream);
      expect(maxAbsDiff(a.features, b.features)).toBeLessThan(1e-6);
      expect(maxAbsDiff(a.ctxGradient, b.ctxGradient) / maxAbs(a.ctxGradient)).toBeLessThan(1e-6);
    } finally {
      await Promise.all([one.dispose(), two.dispose()]);
    }
  });
});

describe('ONNX text tower memory', () => {
  let tower: OnnxTextTower | undefined;
  afterAll(async () => tower?.dispose());

  it('stays flat over 20 forward+backward calls, and refuses use after dispose', async () => {
    const c = golden.cases.find((x) => x.name === 'coop_end_200')!;
    const { learner, ctx: initialCtx } = learnerFor(c);
    const ctx = initialCtx;
    tower = await towerFor(learner, shortcutPlan(learner));
    const upstream = (f: Float32Array) => f.map((v, i) => Math.sin(i) * v);
    const step = async () => {
      await tower!.textFeatures(ctx);
      await tower!.textFeaturesWithGradient(ctx, upstream);
    };
    for (let i = 0; i < 5; i++) await step(); // warm-up: ORT's arena grows to its working size
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 20; i++) await step();
    const grown = process.memoryUsage().rss - before;
    // One call's trace is ~4 MB here; a leak of the trace or of the sessions' outputs would add ≥ 80 MB.
    expect(grown).toBeLessThan(40 * 2 ** 20);
    await tower.dispose();
    await expect(tower.textFeatures(ctx)).rejects.toThrow(/after dispose/);
    tower = undefined;
  });
});
