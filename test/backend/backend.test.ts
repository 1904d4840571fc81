import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';

describe('backend selection', () => {
  it('falls back to wasm when no native tfjs-node is installed, and computes', async () => {
    const info = await initBackend('auto');
    expect(['tensorflow', 'wasm']).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name);
    const s = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).arraySync());
    expect(s).toBe(6);
  });
});
