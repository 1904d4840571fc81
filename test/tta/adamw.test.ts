import { describe, expect, it } from 'vitest';
import { AdamW } from '../../src/tta/adamw.js';
import { loadLossGoldens } from '../losses/golden.js';

const goldens = loadLossGoldens();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('AdamW (host float32) against torch.optim.AdamW (PyTorch 1.13)', () => {
  for (const golden of goldens.adamw) {
    it(`${golden.name}: ${golden.after_each_step.length} steps match to 1e-6`, () => {
      const param = Float32Array.from(golden.initial);
      const optimizer = new AdamW([param], golden.options);
      golden.grads.forEach((grad, step) => {
        optimizer.step([Float32Array.from(grad)]);
        expect(maxAbsDiff(param, golden.after_each_step[step] as number[])).toBeLessThan(1e-6);
      });
      expect(optimizer.stepCount).toBe(golden.grads.length);
    });
  }

  it('reset() returns to the fresh state (the seed reloads optim_state per sample)', () => {
    const golden = goldens.adamw[0];
    if (!golden) throw new Error('no AdamW golden');
    const param = new Float32Array(golden.initial.length);
    const optimizer = new AdamW([param], golden.options);
    const run = () => {
      param.set(golden.initial);
      for (const grad of golden.grads) optimizer.step([Float32Array.from(grad)]);
      return Array.from(param);
    };
    const first = run();
    optimizer.reset();
    expect(optimizer.stepCount).toBe(0);
    const second = run();
    expect(second).toEqual(first);
    expect(maxAbsDiff(second, golden.after_each_step.at(-1) as number[])).toBeLessThan(1e-6);
  });

  it('skips parameters without a gradient, as torch skips grad None', () => {
    const a = new Float32Array([1, 1]);
    const b = new Float32Array([1, 1]);
    const optimizer = new AdamW([a, b], { lr: 0.1 });
    optimizer.step([new Float32Array([1, 1]), undefined]);
    expect(Array.from(b)).toEqual([1, 1]);
    expect(a[0]! < 1).toBe(true);
  });

  it('every value is a float32 and a mismatched gradient is refused', () => {
    const param = new Float32Array([0.3, -0.7, 1e-3]);
    const optimizer = new AdamW([param], { lr: 5e-3 });
    optimizer.step([new Float32Array([0.1, -2, 1e-9])]);
    // The first step moves each entry by about lr·sign(grad) (after the decay).
    expect(Math.abs(param[0]! - (0.3 * (1 - 5e-5) - 5e-3))).toBeLessThan(1e-6);
    expect(Math.abs(param[1]! - (-0.7 * (1 - 5e-5) + 5e-3))).toBeLessThan(1e-6);
    expect(() => optimizer.step([new Float32Array(2)])).toThrow(/gradient of 2 values/);
  });
});
