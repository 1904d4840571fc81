import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { AttentionPool2d } from '../../src/model/attention-pool.js';
import { tfjsEngineInfo } from '../../src/engine/create-towers.js';
import { TfjsClipTowers } from '../../src/engine/tfjs-towers.js';
import { ClipTestTimeModel } from '../../src/model/clip.js';
import { takeParam } from '../../src/model/model-weights.js';
import { applyConv, foldConvBn } from '../../src/model/resnet.js';
import { loadTokenizer, type ClipTokenizer } from '../../src/model/tokenizer.js';
import { TestTimeTuner } from '../../src/tta/engine.js';
import type { StateDict } from '../../src/weights/host-tensor.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import { TINY_CLIP, maxAbs, maxAbsDiff } from '../model/helpers.js';

/**
 * Issue 6's exact shortcuts that live outside the text tower, each against the plain computation to 1e-4
 * (end tokens, shared prefix and the cached base text features are tested in test/model/):
 * - view 0's image features, computed once with all views, serve the base and the TPT scores;
 * - BatchNorm folded into every convolution (with the fused conv+bias+ReLU) equals conv → BatchNorm → ReLU;
 * - the attention pool without key/value projections equals PyTorch's multi-head attention with them.
 */

let weights: ClipWeights;
let tokenizer: ClipTokenizer;

beforeAll(async () => {
  await initBackend('wasm');
  weights = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
  weights.coopCtx = await readCoopContext(join(TINY_CLIP, 'coop-tiny.pth.tar'));
  tokenizer = await loadTokenizer();
});

const CLASSES = ['stingray', 'American robin', 'sulphur-crested cockatoo', 'German Shepherd Dog', 'broom', 'school bus', 'jay', 'bald eagle'];

describe('view 0 is encoded once per sample', () => {
  it("the engine's base and TPT logits equal view 0 encoded on its own and scored with fresh text features", async () => {
    const model = new ClipTestTimeModel(weights, tokenizer, CLASSES);
    const towers = new TfjsClipTowers(model, tfjsEngineInfo({ name: 'wasm', detail: 'wasm', gpu: false }));
    const tuner = new TestTimeTuner(towers, {
      loss: 'defaultTPT',
      lossContext: { n_aug: 9, n_patches: 0, selection_p_all: 0.3, selection_p_patch: 0.9, alpha_exponential_weightening: 1 },
      learningRate: 0.05,
      ttaSteps: 1,
    });
    const size = weights.arch.imageResolution;
    const data = tf.tidy(() => tf.randomNormal([10, size, size, 3], 0, 1, 'float32', 3).dataSync() as Float32Array);
    const outcome = await tuner.tuneSample({ data, count: 10, size });

    // The plain way: view 0 alone through the image tower; text features computed now, without the cache,
    // at the initial context and at the tuned one (the tuner keeps it until the next sample).
    const plain = tf.tidy(() => {
      const view0 = model.encodeImages(tf.tensor4d(data.subarray(0, size * size * 3), [1, size, size, 3]));
      const tuned = model.logits(view0, model.textFeatures(tf.tensor(tuner.context, [...model.setup.ctxShape]))).dataSync().slice();
      const base = model.logits(view0, model.textFeatures(model.initialContext())).dataSync().slice();
      return { base, tuned };
    });
    expect(maxAbsDiff(outcome.baseLogits, plain.base)).toBeLessThan(1e-4);
    expect(maxAbsDiff(outcome.tptLogits, plain.tuned)).toBeLessThan(1e-4);
    // The step moved the context, so the two scores are different computations.
    expect(maxAbsDiff(outcome.tptLogits, outcome.baseLogits)).toBeGreaterThan(1e-3);
    await towers.dispose();
  });
});

/** Every (conv, BatchNorm) pair of a ModifiedResNet state_dict, with its padding and stride. */
function convBnPairs(stateDict: StateDict): { conv: string; bn: string; pad: number; stride: number }[] {
  const pairs = [];
  for (const name of stateDict.keys()) {
    const m = /^(visual(?:\.layer\d\.\d+)?)\.(conv(\d)|downsample\.0)\.weight$/.exec(name);
    if (!m) continue;
    const conv = `${m[1]}.${m[2]}`;
    const bn = m[3] !== undefined ? `${m[1]}.bn${m[3]}` : `${m[1]}.downsample.1`;
    const kernel = stateDict.get(name)!.shape[2]!;
    pairs.push({ conv, bn, pad: kernel === 3 ? 1 : 0, stride: conv === 'visual.conv1' ? 2 : 1 });
  }
  return pairs;
}

/** conv (PyTorch weights, no bias) → eval-mode BatchNorm (eps 1e-5) → optional ReLU, with separate ops. */
function unfoldedConvBn(x: tf.Tensor4D, stateDict: StateDict, pair: { conv: string; bn: string; pad: number; stride: number }, relu: boolean): tf.Tensor4D {
  const w = takeParam(stateDict, `${pair.conv}.weight`);
  const filter = tf.transpose(tf.tensor4d(w.data, w.shape as [number, number, number, number]), [2, 3, 1, 0]) as tf.Tensor4D; // [out, in, kh, kw] → [kh, kw, in, out]
  const param = (suffix: string) => tf.tensor1d(takeParam(stateDict, `${pair.bn}.${suffix}`).data);
  const y = tf.batchNorm(tf.conv2d(x, filter, pair.stride, pair.pad), param('running_mean'), param('running_var'), param('bias'), param('weight'), 1e-5);
  return relu ? tf.relu(y) : y;
}

describe('BatchNorm folded into the convolutions', () => {
  it('every conv of the tiny ResNet: folded fused conv(+bias+ReLU) equals conv → BatchNorm (→ ReLU) to 1e-4', () => {
    const pairs = convBnPairs(weights.stateDict);
    expect(pairs.length).toBe(3 + 3 * 5 + 4); // stem, 5 bottlenecks of 3 convs, 4 shortcut convs
    for (const pair of pairs) {
      for (const relu of [false, true]) {
        tf.tidy(() => {
          const inChannels = weights.stateDict.get(`${pair.conv}.weight`)!.shape[1]!;
          const x = tf.randomNormal([2, 9, 9, inChannels], 0, 1, 'float32', 11) as tf.Tensor4D;
          const folded = foldConvBn(weights.stateDict, pair.conv, pair.bn, { pad: pair.pad, stride: pair.stride });
          const fast = applyConv(x, folded, relu).dataSync();
          const plain = unfoldedConvBn(x, weights.stateDict, pair, relu).dataSync();
          tf.dispose([folded.filter, folded.bias]);
          expect(maxAbs(plain)).toBeGreaterThan(0);
          expect(maxAbsDiff(fast, plain) / Math.max(1, maxAbs(plain))).toBeLessThan(1e-4);
        });
      }
    }
  });
});

/** PyTorch's F.multi_head_attention_forward as AttentionPool2d calls it: the mean token queries all tokens. */
function plainAttentionPool(x: tf.Tensor4D, sd: StateDict, prefix: string, heads: number): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const t = h * w + 1;
  const d = c / heads;
  const p = (name: string) => {
    const v = takeParam(sd, `${prefix}.${name}`);
    return tf.tensor(v.data, v.shape);
  };
  const linear = (input: tf.Tensor2D, name: string) => tf.add(tf.matMul(input, p(`${name}.weight`) as tf.Tensor2D, false, true), p(`${name}.bias`)) as tf.Tensor2D; // x·Wᵀ + b
  const grid = tf.reshape(x, [n, h * w, c]); // [N, HW, C]
  const tokens = tf.add(tf.concat([tf.mean(grid, 1, true), grid], 1), p('positional_embedding')); // [N, T, C]
  const flat = tf.reshape(tokens, [n * t, c]) as tf.Tensor2D; // [N·T, C]
  const q = tf.mul(linear(tf.reshape(tf.slice(tokens, [0, 0, 0], [n, 1, c]), [n, c]), 'q_proj'), 1 / Math.sqrt(d));
  const byHead = (m: tf.Tensor, rows: number) => tf.transpose(tf.reshape(m, [n, rows, heads, d]), [0, 2, 1, 3]); // [N, rows, C] → [N, heads, rows, d]
  const k = byHead(linear(flat, 'k_proj'), t);
  const v = byHead(linear(flat, 'v_proj'), t);
  const weights = tf.softmax(tf.matMul(byHead(q, 1), k, false, true)); // [N, heads, 1, T]
  const attended = tf.reshape(tf.transpose(tf.matMul(weights, v), [0, 2, 1, 3]), [n, c]); // [N, heads, 1, d] → [N, C]
  return linear(attended as tf.Tensor2D, 'c_proj');
}

describe('attention pool without key and value projections', () => {
  it('the tiny CLIP pool and a wider random one equal the plain multi-head attention to 1e-4', () => {
    const random: StateDict = new Map();
    const c = 512;
    const put = (name: string, shape: number[], std: number, seed: number) =>
      random.set(`pool.${name}`, { dtype: 'float32', shape, data: tf.tidy(() => tf.randomNormal(shape, 0, std, 'float32', seed).dataSync() as Float32Array) });
    put('positional_embedding', [7 * 7 + 1, c], 0.05, 1);
    ['q_proj', 'k_proj', 'v_proj', 'c_proj'].forEach((name, i) => {
      put(`${name}.weight`, [name === 'c_proj' ? 96 : c, c], c ** -0.5, 10 + i);
      put(`${name}.bias`, [name === 'c_proj' ? 96 : c], 0.5, 20 + i); // large biases: the k bias must cancel
    });
    const cases: [StateDict, string, number, number, number, number][] = [
      // [state_dict, prefix, grid, width, heads, output]
      [weights.stateDict, 'visual.attnpool', 2, 256, 4, 32],
      [random, 'pool', 7, c, 8, 96],
    ];
    for (const [sd, prefix, grid, width, heads, output] of cases) {
      tf.tidy(() => {
        const pool = new AttentionPool2d(sd, prefix, grid, width, heads, output);
        const x = tf.mul(tf.randomNormal([3, grid, grid, width], 0, 1, 'float32', 4), 2) as tf.Tensor4D;
        const fast = pool.forward(x).dataSync();
        const plain = plainAttentionPool(x, sd, prefix, heads).dataSync();
        pool.dispose();
        expect(maxAbsDiff(fast, plain) / Math.max(1, maxAbs(plain))).toBeLessThan(1e-4);
      });
    }
  });
});
