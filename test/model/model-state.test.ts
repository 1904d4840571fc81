import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { ClipTestTimeModel } from '../../src/model/clip.js';
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

/** Variable.assign shares the new tensor's data, so the caller still owns (and must dispose) the tensor. */
function assignDisposing(variable: tf.Variable, value: tf.Tensor): void {
  variable.assign(value);
  value.dispose();
}

const views = () => tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
const entropyLoss = (logits: tf.Tensor2D): tf.Scalar =>
  tf.tidy(() => {
    const logProbs = tf.sub(logits, tf.logSumExp(logits, -1, true));
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.exp(logProbs), logProbs), -1)));
  });

describe('ClipTestTimeModel state', () => {
  it('only the context is a variable, and only it receives gradients', () => {
    const variablesBefore = Object.keys(tf.engine().registeredVariables).length;
    const model = new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx });
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(variablesBefore + 1);
    const image = model.encodeImages(views());
    // No varList: tfjs differentiates with respect to every trainable variable there is.
    const { value, grads } = tf.variableGrads(() => entropyLoss(model.logits(image, model.textFeatures())));
    expect(Object.keys(grads)).toEqual([model.ctx.name]);
    expect(grads[model.ctx.name]!.shape).toEqual([4, 128]);
    tf.dispose([image, value, ...Object.values(grads)]);
    model.dispose();
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(variablesBefore);
  });

  it('resetContext restores the CoOp context; initial text features are cached and independent of the current ctx', () => {
    const model = new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx });
    const initialCtx = model.ctx.dataSync().slice();
    expect(maxAbsDiff(initialCtx, coopCtx.data as Float32Array)).toBe(0);
    const initialText = model.textFeatures();
    // A random move: a constant shift of every ctx row would be removed by LayerNorm.
    assignDisposing(model.ctx, tf.tidy(() => tf.add(model.ctx, tf.randomNormal(model.ctx.shape, 0, 0.05, 'float32', 8))));
    const cached = model.initialTextFeatures();
    expect(maxAbsDiff(cached.dataSync(), initialText.dataSync())).toBeLessThan(1e-6);
    expect(model.initialTextFeatures()).toBe(cached);
    const moved = model.textFeatures();
    expect(maxAbsDiff(moved.dataSync(), initialText.dataSync())).toBeGreaterThan(1e-3);
    model.resetContext();
    expect(maxAbsDiff(model.ctx.dataSync(), initialCtx)).toBe(0);
    tf.dispose([initialText, moved]);
    model.dispose();
  });

  it('repeated encode / logits / gradient steps keep tf.memory().numTensors constant; dispose frees all', () => {
    const before = tf.memory().numTensors;
    const model = new ClipTestTimeModel(fp16, tokenizer, CLASSES, { coopCtx });
    const input = views();
    const step = () => {
      const image = model.encodeImages(input);
      const base = model.logits(image, model.initialTextFeatures());
      const { value, grads } = tf.variableGrads(() => entropyLoss(model.logits(image, model.textFeatures())));
      assignDisposing(model.ctx, tf.tidy(() => tf.sub(model.ctx, tf.mul(grads[model.ctx.name]!, 0.01))));
      const tpt = tf.tidy(() => model.logits(image, model.textFeatures()));
      tf.dispose([image, base, value, tpt, ...Object.values(grads)]);
      model.resetContext();
    };
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
    const [ia, ib, ta, tb] = [a.encodeImages(input), b.encodeImages(input), a.textFeatures(), b.textFeatures()];
    expect(maxAbsDiff(ia.dataSync(), ib.dataSync())).toBe(0);
    expect(maxAbsDiff(ta.dataSync(), tb.dataSync())).toBe(0);
    expect(a.logitScale).toBe(b.logitScale);
    tf.dispose([input, ia, ib, ta, tb]);
    a.dispose();
    b.dispose();
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
