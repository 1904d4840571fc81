import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import '../../src/model/gradients.js';
import { ResidualAttentionBlock, causalMask } from '../../src/model/transformer-block.js';
import { OnnxGraph } from '../../src/onnx/graph-builder.js';
import type { RowLayout } from '../../src/onnx/layout-attention-graph.js';
import { BlockWeights, ResidualBlockGraph } from '../../src/onnx/residual-block-graph.js';
import { createSession, loadOrt } from '../../src/onnx/runtime.js';
import { maxAbs, maxAbsDiff } from '../model/helpers.js';
import { RN50_TEXT_ARCH, randomTextStateDict } from './random-text-weights.js';

/**
 * One block graph against the tfjs ResidualAttentionBlock, forward and input gradient, in the two ways the
 * towers use it: a ViT-style layout (one group of sequences, no mask, no prefix) and causal text sequences;
 * each with every row, and with one query row per sequence (the last block: class token or EOT).
 */

const ARCH = { ...RN50_TEXT_ARCH, transformerWidth: 128, transformerHeads: 2, transformerLayers: 1, vocabSize: 8, contextLength: 8 };
const stateDict = randomTextStateDict(ARCH, 11);
const W = ARCH.transformerWidth;

beforeAll(async () => {
  await initBackend('wasm');
});

/** Block output [B·L, W] (or [B, W] at queryRow) and d sum(out ⊙ U)/dx in ONNX Runtime. */
async function onnxBlock(x: Float32Array, upstream: Float32Array, count: number, layout: RowLayout, queryRow: number | undefined) {
  const ort = await loadOrt();
  const [group] = layout.groups;
  const n = count * group!.length;
  const outRows = queryRow === undefined ? n : count;
  // A symbolic count leaves the row dimensions to the session's inputs.
  const symbolic = typeof group!.count === 'string';
  const weights = new BlockWeights(stateDict, 'transformer.resblocks.0', W, ARCH.transformerHeads);
  const g = new OnnxGraph('block');
  const block = new ResidualBlockGraph(g, weights, layout, 'b');
  const input = g.input('x', [symbolic ? 'rows' : n, W]);
  const options = { queryRows: queryRow === undefined ? undefined : [queryRow] };
  const { out, trace } = block.forward(input, options);
  g.output(out, 'out', [symbolic ? 'out_rows' : outRows, W]);
  g.output(block.backward(trace, g.input('d_out', [symbolic ? 'out_rows' : outRows, W]), options), 'dx', [symbolic ? 'rows' : n, W]);
  const session = await createSession(g.toBytes(), { threads: 1 });
  try {
    const result = await session.run({ x: new ort.Tensor('float32', x, [n, W]), d_out: new ort.Tensor('float32', upstream, [outRows, W]) });
    return { out: result['out']!.data as Float32Array, dx: result['dx']!.data as Float32Array };
  } finally {
    await session.release();
  }
}

function tfjsBlock(x: Float32Array, upstream: Float32Array, count: number, length: number, causal: boolean, queryRow: number | undefined) {
  const block = new ResidualAttentionBlock(stateDict, 'transformer.resblocks.0', W, ARCH.transformerHeads);
  try {
    return tf.tidy(() => {
      const mask = causal ? causalMask(length) : tf.zeros([length, length]);
      const pick = (y: tf.Tensor3D) => (queryRow === undefined ? y : tf.slice(y, [0, queryRow, 0], [count, 1, W]));
      const f = (t: tf.Tensor) => pick(block.forward(t as tf.Tensor3D, mask as tf.Tensor2D));
      const input = tf.tensor3d(x, [count, length, W]);
      const out = f(input).dataSync() as Float32Array;
      const u = tf.tensor(upstream, queryRow === undefined ? [count, length, W] : [count, 1, W]);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), u)))(input).dataSync() as Float32Array;
      return { out, dx };
    });
  } finally {
    block.dispose();
  }
}

const random = (count: number, seed: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 0.8);

describe('ResidualBlockGraph against the tfjs ResidualAttentionBlock', () => {
  const cases: [string, boolean, number | undefined, boolean][] = [
    ['ViT-style, no mask, every row', false, undefined, false],
    ['ViT-style, no mask, class-token row only', false, 0, false],
    ['ViT-style, symbolic view count, class-token row only', false, 0, true],
    ['causal, every row', true, undefined, false],
    ['causal, one query row before the end', true, 3, false],
  ];
  for (const [name, causal, queryRow, symbolic] of cases) {
    it(`${name}: output and input gradient to 1e-4`, async () => {
      const count = 3;
      const length = 6;
      const x = random(count * length * W, 1);
      const upstream = random((queryRow === undefined ? count * length : count) * W, 2);
      const layout: RowLayout = { prefixLength: 0, groups: [{ count: symbolic ? 'views' : count, length }], causal };
      const got = await onnxBlock(x, upstream, count, layout, queryRow);
      const want = tfjsBlock(x, upstream, count, length, causal, queryRow);
      expect(maxAbsDiff(got.out, want.out)).toBeLessThan(1e-4);
      expect(maxAbs(want.dx)).toBeGreaterThan(0);
      expect(maxAbsDiff(got.dx, want.dx) / maxAbs(want.dx)).toBeLessThan(1e-4);
    });
  }
});

describe('ResidualBlockGraph.forwardFused (com.microsoft Attention) against the tfjs block and the plain graph', () => {
  it('ViT-style, symbolic view count, every row: output to 1e-4 of tfjs, 1e-5 of forward()', async () => {
    const ort = await loadOrt();
    const count = 3;
    const length = 7;
    const n = count * length;
    const x = random(n * W, 3);
    const layout: RowLayout = { prefixLength: 0, groups: [{ count: 'views', length }], causal: false };
    const weights = new BlockWeights(stateDict, 'transformer.resblocks.0', W, ARCH.transformerHeads);
    const g = new OnnxGraph('fused_block');
    const input = g.input('x', ['rows', W]);
    g.output(new ResidualBlockGraph(g, weights, layout, 'fused').forwardFused(input), 'fused', ['rows', W]);
    g.output(new ResidualBlockGraph(g, weights, layout, 'plain').forward(input).out, 'plain', ['rows', W]);
    const session = await createSession(g.toBytes(), { threads: 1 });
    try {
      const result = await session.run({ x: new ort.Tensor('float32', x, [n, W]) });
      const fused = result['fused']!.data as Float32Array;
      const want = tfjsBlock(x, random(n * W, 4), count, length, false, undefined).out;
      expect(maxAbs(fused)).toBeGreaterThan(0);
      expect(maxAbsDiff(fused, want)).toBeLessThan(1e-4);
      expect(maxAbsDiff(fused, result['plain']!.data as Float32Array)).toBeLessThan(1e-5);
    } finally {
      await session.release();
    }
  });
});
