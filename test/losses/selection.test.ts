import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import {
  argsortAscending,
  avgEntropy,
  confidentIndices,
  rowEntropies,
  selectConfidentSamples,
  selectionCount,
} from '../../src/losses/selection.js';
import { torchMode } from '../../src/losses/patch-common.js';
import { compareArrays, goldenArray, inputLogits, loadLossGoldens } from './golden.js';

const goldens = loadLossGoldens();

beforeAll(async () => {
  await initBackend('wasm');
});

describe('select_confident_samples and avg_entropy against the seed', () => {
  for (const golden of goldens.selection) {
    it(`${golden.input}, p=${golden.p}: entropies, kept indices, avg_entropy and its gradient`, () => {
      const logits = inputLogits(goldens, golden.input);
      expect(compareArrays(rowEntropies(logits), golden.entropies).maxError).toBeLessThan(1e-4);
      expect(confidentIndices(logits, golden.p)).toEqual(golden.indices);
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => avgEntropy(selectConfidentSamples(x as tf.Tensor2D, golden.p)))(logits);
      expect(Math.abs((value.dataSync()[0] as number) - golden.avg_entropy)).toBeLessThan(2e-3);
      const { maxError, relativeL2 } = compareArrays(grad.dataSync(), goldenArray(golden.grad));
      expect(maxError).toBeLessThan(2e-3);
      expect(relativeL2).toBeLessThan(2e-3);
      tf.dispose([logits, value, grad]);
    });
  }

  it('keeps int(N·p) rows, truncating like Python', () => {
    expect(selectionCount(64, 0.1)).toBe(6);
    expect(selectionCount(63, 0.1)).toBe(6);
    expect(selectionCount(5, 0.1)).toBe(0);
    expect(selectionCount(3, 0.9)).toBe(2);
    expect(selectionCount(5, 0.9)).toBe(4);
    expect(selectionCount(10, 0.9)).toBe(9);
  });

  it('selected rows are the original rows, lowest entropy first, bit for bit', () => {
    const logits = tf.tensor2d([
      [1, 1, 1],
      [10, 0, 0],
      [3, 1, 0],
      [0, 0, 20],
    ]);
    const selected = selectConfidentSamples(logits, 0.5);
    expect(selected.arraySync()).toEqual([
      [0, 0, 20],
      [10, 0, 0],
    ]);
    tf.dispose([logits, selected]);
  });

  it('breaks exact ties by the lower index and sorts NaN last', () => {
    expect(argsortAscending([0.5, 0.2, 0.5, 0.2])).toEqual([1, 3, 0, 2]);
    expect(argsortAscending([Number.NaN, 1, 0])).toEqual([2, 1, 0]);
  });

  it('an empty selection gives an empty tensor (the registry refuses such configs up front)', () => {
    const logits = tf.ones([5, 3]) as tf.Tensor2D;
    const selected = selectConfidentSamples(logits, 0.1);
    expect(selected.shape).toEqual([0, 3]);
    tf.dispose([logits, selected]);
  });

  it('torch.mode: most frequent value, smallest among ties', () => {
    expect(torchMode([3, 1, 3, 1])).toBe(1);
    expect(torchMode([7, 2])).toBe(2);
    expect(torchMode([5, 5, 2])).toBe(5);
    expect(torchMode([4])).toBe(4);
  });

  it('leaves no tensors behind', () => {
    const logits = inputLogits(goldens, 'aug12_c7');
    const once = () => {
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => avgEntropy(selectConfidentSamples(x as tf.Tensor2D, 0.5)))(logits);
      tf.dispose([value, grad]);
      const selected = selectConfidentSamples(logits, 0.25);
      avgEntropy(selected).dispose();
      selected.dispose();
    };
    once();
    const before = tf.memory().numTensors;
    once();
    once();
    expect(tf.memory().numTensors).toBe(before);
    logits.dispose();
  });
});
