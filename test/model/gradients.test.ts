import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import '../../src/model/gradients.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/**
 * Checks tf.grad(f) against central differences of f in float64 on the host, for a scalar f of one input.
 * Inputs are kept away from kinks (max ties, clip bounds, 0 for abs/relu) so the derivative exists.
 */
function checkGradient(name: string, f: (x: tf.Tensor) => tf.Tensor, x0: tf.Tensor): void {
  const analytic = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(f(x)))(x0).dataSync());
  const base = x0.dataSync();
  const h = 1e-2;
  const numeric = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const at = (delta: number) =>
      tf.tidy(() => {
        const moved = base.slice();
        moved[i] = moved[i]! + delta;
        return tf.sum(f(tf.tensor(moved, x0.shape))).dataSync()[0]!;
      });
    numeric[i] = (at(h) - at(-h)) / (2 * h);
  }
  for (let i = 0; i < base.length; i++) {
    expect(Math.abs(analytic[i]! - numeric[i]!), `${name}[${i}]: ${analytic[i]} vs ${numeric[i]}`).toBeLessThan(2e-2 * (1 + Math.abs(numeric[i]!)));
  }
}

const x = () => tf.tensor2d([0.3, -0.7, 1.1, 0.45, -1.3, 0.8], [2, 3]);
const w = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + 1)), shape);

describe('gradients registered by src/model/gradients.ts', () => {
  const cases: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['add/sub/mul/div with broadcasting', (t) => tf.div(tf.mul(tf.sub(tf.add(t, w([3])), w([2, 1])), w([2, 3])), tf.add(tf.square(t), 2))],
    ['maximum/minimum', (t) => tf.add(tf.mul(tf.maximum(t, 0.1), w([2, 3])), tf.minimum(t, 0.2))],
    ['squared difference', (t) => tf.squaredDifference(t, w([3]))],
    ['exp/log/sqrt/rsqrt', (t) => tf.add(tf.exp(t), tf.mul(tf.log(tf.add(tf.square(t), 1)), tf.add(tf.sqrt(tf.add(tf.square(t), 1)), tf.rsqrt(tf.add(tf.square(t), 1)))))],
    ['sigmoid/tanh/relu/abs/neg', (t) => tf.mul(tf.add(tf.add(tf.sigmoid(t), tf.tanh(t)), tf.sub(tf.relu(t), tf.neg(tf.abs(t)))), w([2, 3]))],
    ['clipByValue', (t) => tf.mul(tf.clipByValue(t, -1, 1), w([2, 3]))],
    ['matMul (all transposes)', (t) => tf.add(tf.sum(tf.matMul(t, w([3, 2]))), tf.add(tf.sum(tf.matMul(t, w([2, 3]), true, false)), tf.add(tf.sum(tf.matMul(w([2, 2]), t, true, false)), tf.sum(tf.matMul(w([3, 3]), t, false, true)))))],
    ['softmax / logSumExp (max)', (t) => tf.mul(tf.add(tf.softmax(t), tf.logSumExp(t, -1, true)), w([2, 3]))],
    ['sum/mean/max/min', (t) => tf.stack([tf.sum(tf.mul(tf.sum(t, 0), w([3]))), tf.sum(tf.mul(tf.mean(t, 1), w([2]))), tf.sum(tf.mul(tf.max(t, 1), w([2]))), tf.sum(tf.min(t, 0))])],
    ['reshape/transpose/slice/concat/split', (t) => {
      const [a, b] = tf.split(tf.concat([tf.transpose(t), tf.reshape(t, [3, 2])], 0), [2, 4], 0);
      return tf.mul(tf.add(tf.slice(b!, [1, 0], [2, 2]), tf.slice(a!, [0, 0], [2, 2])), w([2, 2]));
    }],
    ['stack/tile/broadcastTo', (t) => tf.add(tf.sum(tf.mul(tf.tile(t, [2, 3]), w([4, 9]))), tf.add(tf.sum(tf.mul(tf.stack([t, tf.square(t)]), w([2, 2, 3]))), tf.sum(tf.mul(tf.broadcastTo(tf.reshape(t, [2, 1, 3]), [2, 4, 3]), w([2, 4, 3])))))],
    ['cast/clone', (t) => tf.mul(tf.cast(tf.clone(t), 'float32'), w([2, 3]))],
  ];
  for (const [name, f] of cases) {
    it(name, () => {
      const input = x();
      checkGradient(name, f, input);
      input.dispose();
    });
  }
});
