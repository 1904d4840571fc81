import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { AdamW } from '../../src/tta/adamw.js';
import { loadLossGoldens } from '../losses/golden.js';

const goldens = loadLossGoldens();

beforeAll(async () => {
  await initBackend('wasm');
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('AdamW against torch.optim.AdamW (PyTorch 1.13)', () => {
  for (const golden of goldens.adamw) {
    it(`${golden.name}: ${golden.after_each_step.length} steps match to 1e-6`, () => {
      const param = tf.variable(tf.tensor(golden.initial, golden.shape), true, `adamw-${golden.name}`);
      const optimizer = new AdamW([param], golden.options);
      golden.grads.forEach((grad, step) => {
        const g = tf.tensor(grad, golden.shape);
        optimizer.step({ [param.name]: g });
        g.dispose();
        expect(maxAbsDiff(param.dataSync(), golden.after_each_step[step] as number[])).toBeLessThan(1e-6);
      });
      expect(optimizer.stepCount).toBe(golden.grads.length);
      optimizer.dispose();
      param.dispose();
    });
  }

  it('reset() returns to the fresh state (the seed reloads optim_state per sample); Map-keyed gradients work', () => {
    const golden = goldens.adamw[0];
    if (!golden) throw new Error('no AdamW golden');
    const param = tf.variable(tf.tensor(golden.initial, golden.shape), true, 'adamw-reset');
    const optimizer = new AdamW([param], golden.options);
    const run = () => {
      param.assign(tf.tensor(golden.initial, golden.shape));
      for (const grad of golden.grads) {
        const g = tf.tensor(grad, golden.shape);
        optimizer.step(new Map([[param, g]]));
        g.dispose();
      }
      return Array.from(param.dataSync());
    };
    const first = run();
    optimizer.reset();
    expect(optimizer.stepCount).toBe(0);
    const second = run();
    expect(second).toEqual(first);
    expect(maxAbsDiff(second, golden.after_each_step.at(-1) as number[])).toBeLessThan(1e-6);
    optimizer.dispose();
    param.dispose();
  });

  it('skips variables without a gradient, as torch skips grad None', () => {
    const a = tf.variable(tf.ones([2]), true, 'adamw-a');
    const b = tf.variable(tf.ones([2]), true, 'adamw-b');
    const optimizer = new AdamW([a, b], { lr: 0.1 });
    const g = tf.ones([2]);
    optimizer.step({ [a.name]: g });
    expect(Array.from(b.dataSync())).toEqual([1, 1]);
    expect((a.dataSync()[0] as number) < 1).toBe(true);
    tf.dispose([g, a, b]);
    optimizer.dispose();
  });

  it('leaks no tensors across steps, resets and dispose', () => {
    const param = tf.variable(tf.randomNormal([4, 8]), true, 'adamw-leak');
    const grad = tf.randomNormal([4, 8]);
    const optimizer = new AdamW([param], { lr: 5e-3 });
    optimizer.step({ [param.name]: grad });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) optimizer.step({ [param.name]: grad });
    expect(tf.memory().numTensors).toBe(before);
    optimizer.reset();
    optimizer.step({ [param.name]: grad });
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before - 2);
    tf.dispose([param, grad]);
  });
});
