import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../weights/host-tensor.js';
import { linearWeight, plainTensor, vector } from './model-weights.js';

/**
 * CLIP's AttentionPool2d: the spatial mean is prepended as an extra token, positional embeddings are added,
 * and a single multi-head attention query (that mean token) attends over all tokens, followed by c_proj.
 * Only one query exists, so q is projected for it alone.
 */
export class AttentionPool2d {
  private readonly positional: tf.Tensor2D;
  private readonly qW: tf.Tensor2D;
  private readonly qB: tf.Tensor1D;
  private readonly kW: tf.Tensor2D;
  private readonly kB: tf.Tensor1D;
  private readonly vW: tf.Tensor2D;
  private readonly vB: tf.Tensor1D;
  private readonly cW: tf.Tensor2D;
  private readonly cB: tf.Tensor1D;

  constructor(
    stateDict: StateDict,
    prefix: string,
    readonly spacialDim: number,
    readonly embedDim: number,
    readonly heads: number,
    readonly outputDim: number,
  ) {
    if (embedDim % heads !== 0) throw new Error(`attention pool width ${embedDim} is not divisible by ${heads} heads`);
    this.positional = plainTensor(stateDict, `${prefix}.positional_embedding`, [spacialDim * spacialDim + 1, embedDim]) as tf.Tensor2D;
    this.qW = linearWeight(stateDict, `${prefix}.q_proj.weight`, embedDim, embedDim);
    this.qB = vector(stateDict, `${prefix}.q_proj.bias`, embedDim);
    this.kW = linearWeight(stateDict, `${prefix}.k_proj.weight`, embedDim, embedDim);
    this.kB = vector(stateDict, `${prefix}.k_proj.bias`, embedDim);
    this.vW = linearWeight(stateDict, `${prefix}.v_proj.weight`, embedDim, embedDim);
    this.vB = vector(stateDict, `${prefix}.v_proj.bias`, embedDim);
    this.cW = linearWeight(stateDict, `${prefix}.c_proj.weight`, outputDim, embedDim);
    this.cB = vector(stateDict, `${prefix}.c_proj.bias`, outputDim);
  }

  /** x: [N, H, W, C] feature map → [N, outputDim]. */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const [n, h, w, c] = x.shape;
      if (h !== this.spacialDim || w !== this.spacialDim) {
        throw new Error(`attention pool expects a ${this.spacialDim}x${this.spacialDim} map, got ${h}x${w}`);
      }
      const tokensCount = h * w + 1;
      const d = c / this.heads;
      const grid = tf.reshape(x, [n, h * w, c]); // [N, HW, C]
      const tokens = tf.add(tf.concat([tf.mean(grid, 1, true), grid], 1), this.positional); // [N, HW+1, C]
      const flat = tf.reshape(tokens, [n * tokensCount, c]); // [N·T, C]

      const query = tf.reshape(tf.slice(tokens, [0, 0, 0], [n, 1, c]), [n, c]); // [N, C]: the mean token
      const q = tf.mul(tf.add(tf.matMul(query, this.qW), this.qB), 1 / Math.sqrt(d));
      const k = tf.add(tf.matMul(flat, this.kW), this.kB);
      const v = tf.add(tf.matMul(flat, this.vW), this.vB);

      const qh = tf.reshape(q, [n * this.heads, 1, d]); // [N·heads, 1, d]: heads are contiguous blocks of C
      const kh = tf.reshape(tf.transpose(tf.reshape(k, [n, tokensCount, this.heads, d]), [0, 2, 1, 3]), [n * this.heads, tokensCount, d]); // [N·heads, T, d]
      const vh = tf.reshape(tf.transpose(tf.reshape(v, [n, tokensCount, this.heads, d]), [0, 2, 1, 3]), [n * this.heads, tokensCount, d]); // [N·heads, T, d]
      const weights = tf.softmax(tf.matMul(qh, kh, false, true)); // [N·heads, 1, T]
      const attended = tf.reshape(tf.matMul(weights, vh), [n, c]); // [N·heads, 1, d] → [N, C], heads concatenated
      return tf.add(tf.matMul(attended, this.cW), this.cB);
    });
  }

  dispose(): void {
    for (const t of [this.positional, this.qW, this.qB, this.kW, this.kB, this.vW, this.vB, this.cW, this.cB]) t.dispose();
  }
}
