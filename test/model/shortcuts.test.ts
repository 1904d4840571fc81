import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { ClipTestTimeModel, type ClipTestTimeOptions } from '../../src/model/clip.js';
import { loadTokenizer, type ClipTokenizer } from '../../src/model/tokenizer.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import type { HostTensor } from '../../src/weights/host-tensor.js';
import { TINY_CLIP, maxAbs, maxAbsDiff } from './helpers.js';

// Names of 1 to 5 BPE tokens, so prompts end at different positions and fall into several groups.
const CLASSES = ['stingray', 'American robin', 'sulphur-crested cockatoo', 'German Shepherd Dog', 'broom', 'school bus', 'jay', 'bald eagle'];

let weights: ClipWeights;
let coopCtx: HostTensor;
let tokenizer: ClipTokenizer;

beforeAll(async () => {
  await initBackend('wasm');
  weights = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
  coopCtx = await readCoopContext(join(TINY_CLIP, 'coop-tiny.pth.tar'));
  tokenizer = await loadTokenizer();
});

/** Text features and d(loss)/d(ctx) for a fixed, class-weighted loss; the same images for both paths. */
function featuresAndGrad(model: ClipTestTimeModel, ctx: tf.Tensor, shortcuts: boolean): { text: Float32Array; grad: Float32Array } {
  return tf.tidy(() => {
    const image = tf.div(tf.randomNormal([3, weights.arch.embedDim], 0, 1, 'float32', 5), 4) as tf.Tensor2D;
    const weighting = tf.randomNormal([3, model.classnames.length], 0, 1, 'float32', 6);
    const text = model.textFeatures(ctx, shortcuts).dataSync() as Float32Array;
    const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(model.logits(image, model.textFeatures(x, shortcuts)), weighting)) as tf.Scalar)(ctx);
    return { text, grad: grad.dataSync() as Float32Array };
  });
}

const CASES: [string, ClipTestTimeOptions, number][] = [
  // [name, options, expected shared-prefix length]
  ['end (CoOp ctx)', { coopCtx: undefined, classTokenPosition: 'end' }, 5],
  ['end ("a photo of a")', { ctxInit: 'a photo of a', classTokenPosition: 'end' }, 5],
  ['middle', { classTokenPosition: 'middle' }, 3],
  ['front', { classTokenPosition: 'front' }, 1],
  ['end, csc', { csc: true, classTokenPosition: 'end' }, 1],
  ['middle, csc', { csc: true, classTokenPosition: 'middle', ctxInit: 'a photo of a' }, 1],
];

describe('exact text-tower shortcuts (end tokens + shared prefix) equal the full 77-token prompts', () => {
  for (const [name, options, prefixLength] of CASES) {
    it(`${name}: features and ctx gradients agree to 1e-4`, () => {
      const model = new ClipTestTimeModel(weights, tokenizer, CLASSES, { coopCtx: options.ctxInit ? undefined : coopCtx, ...options });
      expect(model.sharedPrefixLength).toBe(prefixLength);
      // With csc, make the class contexts differ, so a mix-up between classes would show.
      const ctx = tf.tidy(() => {
        const initial = model.initialContext();
        return options.csc ? tf.add(initial, tf.randomNormal(initial.shape, 0, 0.02, 'float32', 9)) : initial;
      });
      const fast = featuresAndGrad(model, ctx, true);
      const full = featuresAndGrad(model, ctx, false);
      ctx.dispose();
      expect(maxAbsDiff(fast.text, full.text)).toBeLessThan(1e-4);
      expect(maxAbs(full.grad)).toBeGreaterThan(0);
      // Relative to the gradient's scale: since the fixture's BatchNorm was calibrated, ctx gradients reach ~70,
      // where float32 spacing is 7.6e-6 and a summation-order difference of ten ulps exceeds 1e-4 absolute.
      expect(maxAbsDiff(fast.grad, full.grad) / maxAbs(full.grad)).toBeLessThan(1e-4);
      model.dispose();
    });
  }
});
