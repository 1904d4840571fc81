import { describe, expect, it } from 'vitest';
import { EceAccumulator, expectedCalibrationError } from '../../src/metrics/ece.js';

describe('expected calibration error', () => {
  it('is Σ |B|/n · |acc(B) − conf(B)| over 15 equal-width bins', () => {
    // Bin of (0.6, 0.6667]: confs 0.62, 0.65, one correct → |0.5 − 0.635|; bin (0.9333, 1]: 0.95 correct → 0.05.
    const ece = expectedCalibrationError([0.62, 0.65, 0.95], [true, false, true]);
    expect(ece).toBeCloseTo((2 / 3) * Math.abs(0.5 - 0.635) + (1 / 3) * 0.05, 12);
  });

  it('puts a confidence on a boundary in the lower bin (bins are (k/15, (k+1)/15])', () => {
    const acc = new EceAccumulator();
    expect(acc.binOf(1 / 15)).toBe(0);
    expect(acc.binOf(2 / 15)).toBe(1);
    expect(acc.binOf(1)).toBe(14);
    expect(acc.binOf(0)).toBe(-1);
    expect(acc.value()).toBe(0);
  });

  it('is zero for perfectly calibrated bins', () => {
    expect(expectedCalibrationError([0.5, 0.5], [true, false])).toBe(0);
  });
});
