import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../weights/host-tensor.js';
import { FrozenLinear, takeParam, vector } from './model-weights.js';

/** PyTorch's nn.LayerNorm default epsilon; CLIP keeps it. */
const LN_EPS = 1e-5;

/**
 * Large negative instead of −∞ for masked scores: exp underflows to exactly 0 either way, and a finite
 * value keeps the softmax gradient free of ∞ − ∞.
 */
export const MASKED = -1e9;

export interface LayerNormParams {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
}

export function loadLayerNorm(stateDict: StateDict, prefix: string, width: number): LayerNormParams {
  return { weight: vector(stateDict, `${prefix}.weight`, width), bias: vector(stateDict, `${prefix}.bias`, width) };
}

type CustomGradFunc = Parameters<typeof tf.customGrad>[0];

/**
 * LayerNorm over the last axis with a hand-written gradient for its input (γ and β are frozen):
 * x̂ = (x − μ)·rstd, y = x̂·γ + β, and dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ.
 * Only x̂ and rstd are kept for the backward pass, instead of every intermediate of the composed ops.
 */
export function layerNorm<T extends tf.Tensor>(x: T, p: LayerNormParams): T {
  const normalize = (input: tf.Tensor, save: tf.GradSaveFunc) => {
    const [normalized, rstd, value] = tf.tidy(() => {
      const centered = tf.sub(input, tf.mean(input, -1, true));
      const r = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), LN_EPS));
      const n = tf.mul(centered, r);
      return [n, r, tf.add(tf.mul(n, p.weight), p.bias)];
    });
    save([normalized!, rstd!]);
    return {
      value: value!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [n, r] = saved as [tf.Tensor, tf.Tensor];
          const g = tf.mul(dy, p.weight);
          const inner = tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(n, tf.mean(tf.mul(g, n), -1, true)));
          return tf.mul(inner, r);
        }),
    };
  };
  return (tf.customGrad(normalize as unknown as CustomGradFunc) as unknown as (t: tf.Tensor) => tf.Tensor)(x) as T;
}

const QUICK_GELU_ALPHA = 1.702;

/**
 * CLIP's QuickGELU, x·σ(1.702x), keeping only x for the backward pass:
 * d/dx = s + 1.702·x·s·(1 − s), s = σ(1.702x).
 */
const quickGelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(x, QUICK_GELU_ALPHA)))),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [input] = saved as [tf.Tensor];
        const s = tf.sigmoid(tf.mul(input, QUICK_GELU_ALPHA));
        const slope = tf.add(s, tf.mul(tf.mul(input, QUICK_GELU_ALPHA), tf.mul(s, tf.sub(1, s))));
        return tf.mul(dy, slope);
      }),
  };
}) as unknown as CustomGradFunc) as unknown as (x: tf.Tensor) => tf.Tensor;

/**
 * a + b for two tensors of one shape, with the gradient dy for both. tf.add would keep both inputs alive on
 * the tape only to read their shapes, which for the residual stream is most of the text tower's memory.
 */
const residualAdd = tf.customGrad(((a: tf.Tensor, b: tf.Tensor) => ({
  value: tf.add(a, b),
  gradFunc: (dy: tf.Tensor) => [dy, dy.clone()],
})) as unknown as CustomGradFunc) as unknown as <T extends tf.Tensor>(a: T, b: T) => T;

/**
 * tf.reshape whose gradient remembers the input shape instead of keeping the input tensor on the tape (tfjs's
 * Reshape gradient saves x only to read x.shape, which held about half of the text tower's taped memory).
 */
function reshape<R extends tf.Rank>(x: tf.Tensor, shape: number[]): tf.Tensor<R> {
  const inputShape = x.shape;
  const reshapeWithGradient = (input: tf.Tensor) => ({
    value: tf.reshape(input, shape),
    gradFunc: (dy: tf.Tensor) => tf.reshape(dy, inputShape),
  });
  return (tf.customGrad(reshapeWithGradient as unknown as CustomGradFunc) as unknown as (t: tf.Tensor) => tf.Tensor<R>)(x);
}

/** Causal additive mask [L, L]: 0 on and below the diagonal, MASKED above it. */
export function causalMask(length: number): tf.Tensor2D {
  const values = new Float32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) values[i * length + j] = MASKED;
  return tf.tensor2d(values, [length, length]);
}

/** Keys and values of the shared prefix at one layer: [heads, P, d] each (a batch of one prompt). */
export interface PrefixKeyValues {
  keys: tf.Tensor3D;
  values: tf.Tensor3D;
}

/**
 * One pre-LN residual block of CLIP's transformers (text, and the ViT image tower's): x + attn(ln_1(x)), then
 * x + mlp(ln_2(x)).
 * Every op here has a gradient on the wasm backend (matMul, reshape, transpose, split, concat, slice, softmax).
 */
export class ResidualAttentionBlock {
  private readonly ln1: LayerNormParams;
  private readonly ln2: LayerNormParams;
  /** in_proj stacks q, k, v as [3W, W], so one matMul projects all three. */
  private readonly inProj: FrozenLinear;
  private readonly outProj: FrozenLinear;
  private readonly fc: FrozenLinear;
  private readonly proj: FrozenLinear;
  private readonly headDim: number;

  constructor(stateDict: StateDict, prefix: string, readonly width: number, readonly heads: number) {
    if (width % heads !== 0) throw new Error(`transformer width ${width} is not divisible by ${heads} heads`);
    this.headDim = width / heads;
    this.ln1 = loadLayerNorm(stateDict, `${prefix}.ln_1`, width);
    this.ln2 = loadLayerNorm(stateDict, `${prefix}.ln_2`, width);
    // PyTorch's MHA scales q = (x·Wq + bq)/√d; the scale is folded into the q rows of in_proj here (exact
    // when √d is a power of two, as for CLIP's 64-wide heads), so no extra multiply is taped.
    const inWeight = takeParam(stateDict, `${prefix}.attn.in_proj_weight`, [3 * width, width]);
    const inBias = takeParam(stateDict, `${prefix}.attn.in_proj_bias`, [3 * width]).data;
    const scale = 1 / Math.sqrt(this.headDim);
    const scaledWeight = inWeight.data.slice();
    const scaledBias = inBias.slice();
    for (let i = 0; i < width * width; i++) scaledWeight[i] = scaledWeight[i]! * scale;
    for (let i = 0; i < width; i++) scaledBias[i] = scaledBias[i]! * scale;
    this.inProj = new FrozenLinear({ data: scaledWeight, shape: inWeight.shape }, scaledBias);
    this.outProj = FrozenLinear.fromStateDict(stateDict, `${prefix}.attn.out_proj`, width, width);
    this.fc = FrozenLinear.fromStateDict(stateDict, `${prefix}.mlp.c_fc`, 4 * width, width);
    this.proj = FrozenLinear.fromStateDict(stateDict, `${prefix}.mlp.c_proj`, width, 4 * width);
  }

  /** ln_1 and the q/k/v projection of x [B, L, W]; q comes out scaled by 1/√d (folded into in_proj). */
  private project(x: tf.Tensor3D): { q: tf.Tensor4D; k: tf.Tensor4D; v: tf.Tensor4D } {
    const [b, l, w] = x.shape;
    const h = layerNorm(x, this.ln1);
    const qkv = this.inProj.forward(reshape(h, [b * l, w])); // [B·L, W] → [B·L, 3W]
    const [q, k, v] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const heads = (t: tf.Tensor2D): tf.Tensor4D => reshape(t, [b, l, this.heads, this.headDim]); // [B, L, heads, d]
    return { q: heads(q), k: heads(k), v: heads(v) };
  }

  /** [B, L, heads, d] → [B·heads, L, d] */
  private headsFirst(t: tf.Tensor4D): tf.Tensor3D {
    const [b, l] = t.shape;
    return reshape(tf.transpose(t, [0, 2, 1, 3]), [b * this.heads, l, this.headDim]); // [B, heads, L, d] → [B·heads, L, d]
  }

  /** Attention output [B·heads, L, d] → out_proj, residual add, then the MLP half of the block. */
  private finish(x: tf.Tensor3D, attended: tf.Tensor3D): tf.Tensor3D {
    const [b, l, w] = x.shape;
    const merged: tf.Tensor2D = reshape(tf.transpose(reshape(attended, [b, this.heads, l, this.headDim]), [0, 2, 1, 3]), [b * l, w]); // [B·L, W]
    const afterAttn = residualAdd(x, reshape(this.outProj.forward(merged), [b, l, w])); // [B·L, W] → [B, L, W]
    const h: tf.Tensor2D = reshape(layerNorm(afterAttn, this.ln2), [b * l, w]); // [B·L, W]
    const mlp = this.proj.forward(quickGelu(this.fc.forward(h)) as tf.Tensor2D);
    return residualAdd(afterAttn, reshape(mlp, [b, l, w])); // [B·L, W] → [B, L, W]
  }

  /**
   * x [B, L, W] with an additive mask [L, L] (the text tower's causal one; none for the ViT, whose tokens all
   * see each other); also returns this layer's keys/values [B·heads, L, d].
   */
  forwardWithKeyValues(x: tf.Tensor3D, mask?: tf.Tensor2D): { out: tf.Tensor3D; keys: tf.Tensor3D; values: tf.Tensor3D } {
    // Each block in its own tidy: under a gradient tape only the tensors its backward pass saved survive.
    return tf.tidy(() => {
      const { q, k, v } = this.project(x);
      const keys = this.headsFirst(k);
      const values = this.headsFirst(v);
      const scores = tf.matMul(this.headsFirst(q), keys, false, true); // [B·heads, L, L]
      const weights = tf.softmax(mask ? tf.add(scores, mask) : scores);
      return { out: this.finish(x, tf.matMul(weights, values)), keys, values };
    });
  }

  forward(x: tf.Tensor3D, mask?: tf.Tensor2D): tf.Tensor3D {
    return this.forwardWithKeyValues(x, mask).out;
  }

  /**
   * The tokens that follow a shared prefix: x [n, R, W] holds positions P..P+R−1 of n prompts whose first P
   * positions are the same prompt, already run (its keys/values at this layer are [heads, P, d]). Under the
   * causal mask each of these tokens sees all P prefix tokens and the own tokens up to itself, so softmax runs
   * over the concatenation [prefix scores | own scores]. Prefix scores use a plain batched matMul over heads,
   * [heads, n·R, d] × [heads, P, d]ᵀ, so no broadcasting batch matmul enters the gradient path.
   */
  forwardAfterPrefix(x: tf.Tensor3D, prefix: PrefixKeyValues, ownMask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [n, r] = x.shape;
      const p = prefix.keys.shape[1];
      const { q, k, v } = this.project(x);
      const qByHead = reshape(tf.transpose(q, [2, 0, 1, 3]), [this.heads, n * r, this.headDim]); // [heads, n·R, d]
      const prefixScores = reshape(
        tf.transpose(reshape(tf.matMul(qByHead, prefix.keys, false, true), [this.heads, n, r, p]), [1, 0, 2, 3]),
        [n * this.heads, r, p],
      ); // [heads, n·R, P] → [n·heads, R, P]
      const ownValues = this.headsFirst(v);
      const ownScores = tf.add(tf.matMul(this.headsFirst(q), this.headsFirst(k), false, true), ownMask); // [n·heads, R, R]
      const weights = tf.softmax(tf.concat([prefixScores, ownScores], 2)); // [n·heads, R, P+R]
      const prefixWeights = reshape(
        tf.transpose(reshape(tf.slice(weights, [0, 0, 0], [n * this.heads, r, p]), [n, this.heads, r, p]), [1, 0, 2, 3]),
        [this.heads, n * r, p],
      ); // [n·heads, R, P] → [heads, n·R, P]
      const fromPrefix = reshape(
        tf.transpose(reshape(tf.matMul(prefixWeights, prefix.values), [this.heads, n, r, this.headDim]), [1, 0, 2, 3]),
        [n * this.heads, r, this.headDim],
      ); // [heads, n·R, d] → [n·heads, R, d]
      const fromOwn = tf.matMul(tf.slice(weights, [0, 0, p], [n * this.heads, r, r]), ownValues); // [n·heads, R, d]
      return this.finish(x, tf.add(fromPrefix, fromOwn));
    });
  }

  dispose(): void {
    for (const t of [this.ln1.weight, this.ln1.bias, this.ln2.weight, this.ln2.bias]) t.dispose();
    for (const linear of [this.inProj, this.outProj, this.fc, this.proj]) linear.dispose();
  }
}
