import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../weights/host-tensor.js';
import { linearWeight, plainTensor, vector } from './model-weights.js';
import { attentionPoolHeads } from './resnet-plan.js';

/**
 * CLIP's AttentionPool2d: the spatial mean is prepended as an extra token, positional embeddings are added,
 * and a single multi-head attention query (that mean token) attends over all tokens, followed by c_proj.
 *
 * With one query, keys and values of the T tokens need not be projected (2·T·C² multiply-adds per view,
 * most of this layer's cost). Per head h, with q_h the scaled query and x_i the tokens:
 * - score_hi = q_h·(W_k,h x_i + b_k,h) = (W_k,hᵀ q_h)·x_i + q_h·b_k,h; the last term is the same for every
 *   token, and softmax is unchanged by a constant shift, so scores are u_h·x_i with u_h = W_k,hᵀ q_h;
 * - Σ_i a_hi (W_v,h x_i + b_v,h) = W_v,h (Σ_i a_hi x_i) + b_v,h, because the weights a_hi sum to 1.
 * That is about C² + 2·heads·T·C + C² per view instead of 2·T·C²: the same function, exact up to float rounding.
 */
export class AttentionPool2d {
  private readonly positional: tf.Tensor2D;
  private readonly qW: tf.Tensor2D;
  private readonly qB: tf.Tensor1D;
  /** Per head, W_k,h: PyTorch's k_proj rows of that head, [d, C]. */
  private readonly kRows: tf.Tensor2D[];
  /** Per head, W_v,hᵀ: [C, d]. */
  private readonly vCols: tf.Tensor2D[];
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
    const c = embedDim;
    const d = c / heads;
    this.positional = plainTensor(stateDict, `${prefix}.positional_embedding`, [spacialDim * spacialDim + 1, c]) as tf.Tensor2D;
    this.qW = linearWeight(stateDict, `${prefix}.q_proj.weight`, c, c);
    this.qB = vector(stateDict, `${prefix}.q_proj.bias`, c);
    const { kRows, vCols } = attentionPoolHeads(stateDict, prefix, c, heads); // [heads, d, C], [heads, C, d]
    this.kRows = [];
    this.vCols = [];
    for (let h = 0; h < heads; h++) {
      // A copy: kRows is the state_dict's own (possibly shared) array, which a tensor must not alias.
      this.kRows.push(tf.tensor2d(kRows.slice(h * d * c, (h + 1) * d * c), [d, c]));
      this.vCols.push(tf.tensor2d(vCols.subarray(h * c * d, (h + 1) * c * d), [c, d]));
    }
    this.vB = vector(stateDict, `${prefix}.v_proj.bias`, c);
    this.cW = linearWeight(stateDict, `${prefix}.c_proj.weight`, outputDim, c);
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
      const tokens = tf.add(tf.concat([tf.mean(grid, 1, true), grid], 1), this.positional); // [N, T, C], T = HW+1

      const query = tf.reshape(tf.slice(tokens, [0, 0, 0], [n, 1, c]), [n, c]); // [N, C]: the mean token
      const q = tf.mul(tf.add(tf.matMul(query, this.qW), this.qB), 1 / Math.sqrt(d)); // [N, C], heads are blocks of d
      // u_h = q_h · W_k,h, one plain [N, d] × [d, C] product per head (wasm's batched matMul is far slower).
      const u = tf.concat(this.kRows.map((rows, head) => tf.matMul(tf.slice(q, [0, head * d], [n, d]), rows)), 1); // [N, heads·C]

      const pooled: tf.Tensor2D[] = [];
      for (let i = 0; i < n; i++) {
        const xi = tf.reshape(tf.slice(tokens, [i, 0, 0], [1, tokensCount, c]), [tokensCount, c]); // [T, C]
        const ui = tf.reshape(tf.slice(u, [i, 0], [1, this.heads * c]), [this.heads, c]); // [heads, C]
        const weights = tf.softmax(tf.matMul(ui, tf.transpose(xi))); // [heads, T]
        pooled.push(tf.reshape(tf.matMul(weights, xi), [1, this.heads * c])); // Σ_i a_hi x_i: [heads, C] → [1, heads·C]
      }
      const z = tf.concat(pooled, 0); // [N, heads·C]
      // W_v,h (Σ_i a_hi x_i): [N, C] × [C, d] per head, heads concatenated → [N, C]
      const attended = tf.add(tf.concat(this.vCols.map((cols, head) => tf.matMul(tf.slice(z, [0, head * c], [n, c]), cols)), 1), this.vB);
      return tf.add(tf.matMul(attended, this.cW), this.cB);
    });
  }

  dispose(): void {
    for (const t of [this.positional, this.qW, this.qB, this.vB, this.cW, this.cB, ...this.kRows, ...this.vCols]) t.dispose();
  }
}
