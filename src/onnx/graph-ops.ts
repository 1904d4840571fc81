import { float, type OnnxGraph } from './graph-builder.js';

/**
 * Small ONNX graph helpers shared by the towers' graphs (the residual block, the text graphs, the image towers):
 * reshapes and arithmetic by value name, PyTorch-layout linears, LayerNorm and QuickGELU with their hand-derived
 * backward passes (ONNX Runtime has no autograd in Node), and row-wise L2 normalisation.
 */

/** PyTorch's nn.LayerNorm default epsilon; CLIP keeps it. */
export const LN_EPS = 1e-5;
const QUICK_GELU_ALPHA = 1.702;

/** [rows, cols] → [cols, rows] on the host. */
export function transposeHost(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/** Small graph helpers shared by the block and the towers built on it. */
export class GraphOps {
  constructor(readonly g: OnnxGraph) {}

  shape(dims: readonly number[]): string {
    return this.g.constInt64(dims, [dims.length], 'shape');
  }

  reshape(x: string, dims: readonly number[]): string {
    return this.g.op('Reshape', [x, this.shape(dims)]);
  }

  transpose(x: string, perm: readonly number[]): string {
    return this.g.op('Transpose', [x], { perm: [...perm] });
  }

  matmul(a: string, b: string): string {
    return this.g.op('MatMul', [a, b]);
  }

  add(a: string, b: string): string {
    return this.g.op('Add', [a, b]);
  }

  sub(a: string, b: string): string {
    return this.g.op('Sub', [a, b]);
  }

  mul(a: string, b: string): string {
    return this.g.op('Mul', [a, b]);
  }

  sum(values: readonly string[]): string {
    return values.length === 1 ? values[0]! : this.g.op('Sum', values);
  }

  concat(values: readonly string[], axis: number): string {
    return values.length === 1 ? values[0]! : this.g.op('Concat', values, { axis });
  }

  /** Splits along `axis` into parts of the given sizes (a single part is the value itself). */
  split(x: string, sizes: readonly number[], axis: number): string[] {
    if (sizes.length === 1) return [x];
    return this.g.opMulti('Split', [x, this.g.constInt64(sizes, [sizes.length], 'split')], sizes.length, { axis });
  }

  /** Sum over the last axis, kept: [..., n] → [..., 1]. */
  sumLast(x: string): string {
    return this.g.op('ReduceSum', [x, this.g.constInt64([-1])], { keepdims: 1 });
  }

  /** x / ‖x‖₂ per row, as the tfjs model's l2Normalize (no epsilon): [n, E] → [n, E]. */
  l2NormalizeRows(x: string): string {
    const norm = this.g.op('Sqrt', [this.g.op('ReduceSumSquare', [x], { axes: [-1], keepdims: 1 })]); // [n, 1]
    return this.g.op('Div', [x, norm]);
  }

  meanLast(x: string): string {
    return this.g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  }

  /** x·Wᵀ + b for PyTorch's W [out, in], from a host-transposed [in, out] initializer: [n, in] → [n, out]. */
  linear(x: string, weightOutIn: Float32Array, bias: Float32Array | undefined, outDim: number, inDim: number, hint: string): string {
    const w = this.g.initializer(this.g.fresh(`${hint}_wT`), transposeHost(weightOutIn, outDim, inDim), [inDim, outDim]);
    const product = this.matmul(x, w);
    return bias ? this.add(product, this.g.initializer(this.g.fresh(`${hint}_b`), bias, [outDim])) : product;
  }

  /** The input gradient of a linear layer: dx = dy·W for W [out, in]: [n, out] → [n, in]. */
  linearBackward(dy: string, weightOutIn: Float32Array, outDim: number, inDim: number, hint: string): string {
    return this.matmul(dy, this.g.initializer(this.g.fresh(`${hint}_w`), weightOutIn, [outDim, inDim]));
  }

  layerNorm(x: string, p: { weight: Float32Array; bias: Float32Array }, hint: string): string {
    const n = p.weight.length;
    const gamma = this.g.initializer(this.g.fresh(`${hint}_g`), p.weight, [n]);
    const beta = this.g.initializer(this.g.fresh(`${hint}_b`), p.bias, [n]);
    return this.g.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: float(LN_EPS) });
  }

  /**
   * The input gradient of LayerNorm (γ, β frozen) over the last axis: with x̂ = (x − μ)·rstd and g = dy·γ,
   * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)). x̂ and rstd are recomputed from x (ONNX's LayerNormalization
   * with γ = 1, β = 0 returns both), which costs O(N·W), far less than saving them.
   */
  layerNormBackward(x: string, dy: string, p: { weight: Float32Array }, hint: string): string {
    const n = p.weight.length;
    const ones = this.g.constFloat(new Float32Array(n).fill(1), [n], `${hint}_one`);
    const zeros = this.g.constFloat(new Float32Array(n), [n], `${hint}_zero`);
    const [normalized, , rstd] = this.g.opMulti('LayerNormalization', [x, ones, zeros], 3, { axis: -1, epsilon: float(LN_EPS) });
    const g = this.mul(dy, this.g.initializer(this.g.fresh(`${hint}_g`), p.weight, [n]));
    const inner = this.sub(this.sub(g, this.meanLast(g)), this.mul(normalized!, this.meanLast(this.mul(g, normalized!))));
    return this.mul(inner, rstd!);
  }

  /** QuickGELU u·σ(1.702u). */
  quickGelu(u: string): string {
    return this.mul(u, this.g.op('Sigmoid', [this.mul(u, this.g.constFloat([QUICK_GELU_ALPHA], [1]))]));
  }

  /** d/du of u·σ(αu) is s + α·u·s·(1 − s) = s·(1 + α·u·(1 − s)), s = σ(αu): du = dy·that. */
  quickGeluBackward(u: string, dy: string): string {
    const alpha = this.g.constFloat([QUICK_GELU_ALPHA], [1]);
    const s = this.g.op('Sigmoid', [this.mul(u, alpha)]);
    const oneMinusS = this.sub(this.g.constFloat([1], [1]), s);
    const slope = this.mul(s, this.add(this.g.constFloat([1], [1]), this.mul(this.mul(u, alpha), oneMinusS)));
    return this.mul(dy, slope);
  }
}
