import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { ClipTestTimeModel } from '../../src/model/clip.js';
import { createPromptSetup } from '../../src/model/prompt-setup.js';
import { loadTokenizer, type ClipTokenizer } from '../../src/model/tokenizer.js';
import type { HostTensor } from '../../src/weights/host-tensor.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import { TINY_CLIP, maxAbsDiff } from './helpers.js';

const CLASSES = ['stingray', 'American robin', 'sulphur-crested cockatoo', 'broom', 'school bus'];

let fp16: ClipWeights;
let coopCtx: HostTensor;
let tokenizer: ClipTokenizer;

beforeAll(async () => {
  await initBackend('wasm');
  fp16 = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
  coopCtx = await readCoopContext(join(TINY_CLIP, 'coop-tiny.pth.tar'));
  tokenizer = await loadTokenizer();
});

const views = () => tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
const entropyLoss = (logits: tf.Tensor2D): tf.Scalar =>
  tf.tidy(() => {
    const logProbs = tf.sub(logits, tf.logSumExp(logits, -1, true));
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.exp(logProbs), logProbs), -1)));
  });

describe('ClipTestTimeModel state', () => {
  it('the model holds no variable: gradients reach the context passed in, and only it', () => {
    const variablesBefore = Object.keys(tf.engine().registeredVariables).length;
    const model = new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx });
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(variablesBefore);
    const image = model.encodeImages(views());
    const ctx = model.initialContext();
    const grad = tf.grad((x: tf.Tensor) => entropyLoss(model.logits(image, model.textFeatures(x))))(ctx);
    expect(grad.shape).toEqual([4, 128]);
    expect(tf.max(tf.abs(grad)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([image, ctx, grad]);
    model.dispose();
  });

  it('the initial context is CoOp\'s; initial text features are cached and equal those of the initial context', () => {
    const model = new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx });
    expect(maxAbsDiff(model.setup.initialCtx, coopCtx.data as Float32Array)).toBe(0);
    const ctx = model.initialContext();
    const initialText = model.textFeatures(ctx);
    const cached = model.initialTextFeatures();
    expect(maxAbsDiff(cached.dataSync(), initialText.dataSync())).toBe(0);
    expect(model.initialTextFeatures()).toBe(cached);
    // A random move: a constant shift of every ctx row would be removed by LayerNorm.
    const moved = tf.tidy(() => model.textFeatures(tf.add(ctx, tf.randomNormal(ctx.shape, 0, 0.05, 'float32', 8))));
    expect(maxAbsDiff(moved.dataSync(), initialText.dataSync())).toBeGreaterThan(1e-3);
    tf.dispose([ctx, initialText, moved]);
    model.dispose();
  });

  it('repeated encode / logits / gradient steps keep tf.memory().numTensors constant; dispose frees all', () => {
    const before = tf.memory().numTensors;
    const model = new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx });
    const input = views();
    const step = () =>
      tf.tidy(() => {
        const image = model.encodeImages(input);
        model.logits(image, model.initialTextFeatures());
        const ctx = model.initialContext();
        const grad = tf.grad((x: tf.Tensor) => entropyLoss(model.logits(image, model.textFeatures(x))))(ctx);
        model.logits(image, model.textFeatures(tf.sub(ctx, tf.mul(grad, 0.01))));
      });
    step();
    const steady = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(steady);
    input.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the TorchScript archive and the fp16 state_dict build the same model', async () => {
    const jit = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.jit.pt'));
    expect(jit.arch).toEqual(fp16.arch);
    const a = new ClipTestTimeModel(jit, tokenizer, CLASSES, { ctxInit: 'a photo of a' });
    const b = new ClipTestTimeModel(fp16, tokenizer, CLASSES, { ctxInit: 'a photo of a' });
    const input = views();
    const [ia, ib, ta, tb] = [a.encodeImages(input), b.encodeImages(input), a.initialTextFeatures(), b.initialTextFeatures()];
    expect(maxAbsDiff(ia.dataSync(), ib.dataSync())).toBe(0);
    expect(maxAbsDiff(ta.dataSync(), tb.dataSync())).toBe(0);
    expect(a.logitScale).toBe(b.logitScale);
    tf.dispose([input, ia, ib]);
    a.dispose();
    b.dispose();
  });

  it('the random initial context (no ctx_init, no CoOp) is N(0, 0.02²) from the seeded RNG: the seed decides it', () => {
    const random = (seed: number, csc = false) => createPromptSetup(fp16, tokenizer, CLASSES, { ctxInit: '', nCtx: 4, seed, csc });
    const [a, b, c] = [random(1), random(1), random(2)];
    expect(a.ctxShape).toEqual([4, 128]);
    expect(Array.from(a.initialCtx)).toEqual(Array.from(b.initialCtx));
    expect(maxAbsDiff(a.initialCtx, c.initialCtx)).toBeGreaterThan(0.01);
    const mean = a.initialCtx.reduce((s, v) => s + v, 0) / a.initialCtx.length;
    const std = Math.sqrt(a.initialCtx.reduce((s, v) => s + (v - mean) ** 2, 0) / a.initialCtx.length);
    expect(Math.abs(mean)).toBeLessThan(0.003);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    const csc = random(1, true);
    expect(csc.ctxShape).toEqual([CLASSES.length, 4, 128]);
    expect(csc.initialCtx.length).toBe(CLASSES.length * 4 * 128);
  });

  it('a CoOp context of the wrong shape is refused with a hint', () => {
    const wrong: HostTensor = { dtype: 'float32', shape: [16, 128], data: new Float32Array(16 * 128) };
    expect(() => new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx: wrong })).toThrow(/CoOp ctx has shape \[16, 128\]/);
    const perClass: HostTensor = { dtype: 'float32', shape: [5, 4, 128], data: new Float32Array(5 * 4 * 128) };
    expect(() => new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx: perClass })).toThrow(expect.objectContaining({ code: 'COOP_SHAPE', hint: expect.stringMatching(/csc/) }));
  });

  it('encodes views in chunks with the same result as one pass', () => {
    const whole = new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx, imageChunkSize: 16 });
    const chunked = new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx, imageChunkSize: 2 });
    const input = tf.randomNormal([5, 64, 64, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const [a, b] = [whole.encodeImages(input), chunked.encodeImages(input)];
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-6);
    tf.dispose([input, a, b]);
    whole.dispose();
    chunked.dispose();
  });
});
