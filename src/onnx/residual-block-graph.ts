import type { StateDict } from '../weights/host-tensor.js';
import { takeParam } from '../model/model-weights.js';
import { float, type OnnxGraph } from './graph-builder.js';
import { GraphOps, transposeHost } from './graph-ops.js';
import { LayoutAttentionGraph, queryBlocks, rowBlocks, type RowLayout } from './layout-attention-graph.js';

/**
 * CLIP's ResidualAttentionBlock as ONNX nodes, forward and (hand-derived) backward with respect to its input:
 * x + attn(ln_1(x)), then + mlp(ln_2(x)), where attn is multi-head attention with in_proj [3W, W] and
 * out_proj, and mlp is c_fc → QuickGELU x·σ(1.702x) → c_proj. ONNX Runtime has no autograd in Node, so the
 * backward pass is a graph of its own, built here from the forward's saved values (a `BlockTrace`).
 *
 * Rows are laid out as one matrix x [N, W] (a `RowLayout`): an optional shared prefix of P rows, then groups
 * of `count` sequences of `length` rows each. Row-wise work (LayerNorms, linears, MLP) runs on all N rows at
 * once; attention runs per group, each sequence attending to the prefix's keys/values and to its own rows
 * (causally for the text tower; without a mask for a ViT image tower: one group of views, no prefix).
 *
 * With `queryRows`, only one row of each sequence (the EOT token of a text prompt, the class token of a ViT)
 * is computed: keys and values still come from every row, but queries, out_proj, the MLP and the output exist
 * only for those rows. That is exact for the last block, whose other rows nothing reads.
 *
 * Shapes: N rows, Nq query rows (N, or the number of sequences with queryRows), W width, H heads, d = W/H.
 * PyTorch's Linear computes x·Wᵀ with W [out, in]; forward graphs hold [in, out] copies, backward graphs use
 * W itself (dx = dy·W).
 */

export interface BlockOptions {
  /** Per group, the one row of each sequence to compute (see the file comment); the prefix gets no queries. */
  queryRows?: readonly number[] | undefined;
}

/** The values a block's backward pass reads, by name in the graph (graph inputs, or forward values). */
export interface BlockTrace {
  /** Block input [N, W]. */
  x: string;
  /** Queries [Nq, W] (scaled by 1/√d), keys and values [N, W]. */
  q: string;
  k: string;
  v: string;
  /** After the attention residual [Nq, W]. */
  y: string;
  /** c_fc output, QuickGELU's input [Nq, 4W]. */
  u: string;
}

export const TRACE_FIELDS = ['x', 'q', 'k', 'v', 'y', 'u'] as const;

/** One block's frozen parameters on the host, PyTorch layouts, q rows of in_proj pre-scaled by 1/√d. */
export class BlockWeights {
  readonly ln1: { weight: Float32Array; bias: Float32Array };
  readonly ln2: { weight: Float32Array; bias: Float32Array };
  /** [3W, W], q rows scaled (exact for CLIP's 64-wide heads: √d is a power of two), and [3W]. */
  readonly inProj: { weight: Float32Array; bias: Float32Array };
  readonly outProj: { weight: Float32Array; bias: Float32Array };
  /** c_fc [4W, W], c_proj [W, 4W]. */
  readonly fc: { weight: Float32Array; bias: Float32Array };
  readonly proj: { weight: Float32Array; bias: Float32Array };

  constructor(stateDict: StateDict, prefix: string, readonly width: number, readonly heads: number) {
    if (width % heads !== 0) throw new Error(`width ${width} is not divisible by ${heads} heads`);
    const w = width;
    const p = (name: string, shape: number[]) => takeParam(stateDict, `${prefix}.${name}`, shape).data;
    this.ln1 = { weight: p('ln_1.weight', [w]), bias: p('ln_1.bias', [w]) };
    this.ln2 = { weight: p('ln_2.weight', [w]), bias: p('ln_2.bias', [w]) };
    // PyTorch's MHA scales q = (x·Wq + bq)/√d; folding the scale into the q rows matches the tfjs tower.
    const scale = 1 / Math.sqrt(w / heads);
    const inWeight = p('attn.in_proj_weight', [3 * w, w]).slice();
    const inBias = p('attn.in_proj_bias', [3 * w]).slice();
    for (let i = 0; i < w * w; i++) inWeight[i] = inWeight[i]! * scale;
    for (let i = 0; i < w; i++) inBias[i] = inBias[i]! * scale;
    this.inProj = { weight: inWeight, bias: inBias };
    this.outProj = { weight: p('attn.out_proj.weight', [w, w]), bias: p('attn.out_proj.bias', [w]) };
    this.fc = { weight: p('mlp.c_fc.weight', [4 * w, w]), bias: p('mlp.c_fc.bias', [4 * w]) };
    this.proj = { weight: p('mlp.c_proj.weight', [w, 4 * w]), bias: p('mlp.c_proj.bias', [w]) };
  }
}

export class ResidualBlockGraph {
  private readonly ops: GraphOps;
  private readonly w: number;
  private readonly attention: LayoutAttentionGraph;

  constructor(
    private readonly g: OnnxGraph,
    private readonly weights: BlockWeights,
    private readonly layout: RowLayout,
    private readonly hint: string,
  ) {
    this.ops = new GraphOps(g);
    this.w = weights.width;
    this.attention = new LayoutAttentionGraph(g, layout, weights.width, weights.heads, hint);
  }

  /** x [N, W] → block output [Nq, W], and the values its backward pass reads. */
  forward(x: string, options: BlockOptions = {}): { out: string; trace: BlockTrace } {
    const { ops, w } = this;
    const { inProj, outProj, fc, proj } = this.weights;
    const queryRows = options.queryRows;
    const hidden = ops.layerNorm(x, this.weights.ln1, `${this.hint}_ln1`); // [N, W]
    let q: string;
    let k: string;
    let v: string;
    let residual = x;
    if (!queryRows) {
      const qkv = ops.linear(hidden, inProj.weight, inProj.bias, 3 * w, w, `${this.hint}_in`); // [N, 3W]
      [q, k, v] = ops.split(qkv, [w, w, w], 1) as [string, string, string];
    } else {
      const kv = ops.linear(hidden, inProj.weight.subarray(w * w), inProj.bias.subarray(w), 2 * w, w, `${this.hint}_kv`); // [N, 2W]
      [k, v] = ops.split(kv, [w, w], 1) as [string, string];
      q = ops.linear(this.selectRows(hidden, queryRows), inProj.weight.subarray(0, w * w), inProj.bias.subarray(0, w), w, w, `${this.hint}_q`); // [Nq, W]
      residual = this.selectRows(x, queryRows); // [Nq, W]
    }
    const attended = this.attention.forward(q, k, v, queryRows); // [Nq, W]
    const y = ops.add(residual, ops.linear(attended, outProj.weight, outProj.bias, w, w, `${this.hint}_out`));
    const u = ops.linear(ops.layerNorm(y, this.weights.ln2, `${this.hint}_ln2`), fc.weight, fc.bias, 4 * w, w, `${this.hint}_fc`); // [Nq, 4W]
    const out = ops.add(y, ops.linear(ops.quickGelu(u), proj.weight, proj.bias, w, 4 * w, `${this.hint}_proj`)); // [Nq, W]
    return { out, trace: { x, q, k, v, y, u } };
  }

  /**
   * The forward pass without a trace (an image tower: nothing takes its gradient), for a layout of one group of
   * `length`-row sequences without a prefix or mask (a ViT's views), every row computed. The attention, with
   * its packed q|k|v projection, is ONNX Runtime's fused com.microsoft Attention kernel; q is already scaled
   * by 1/√d in the weights, so its own scale is 1. Same function as `forward(x).out`.
   */
  forwardFused(x: string): string {
    const { ops, g, w } = this;
    const { inProj, outProj, fc, proj } = this.weights;
    const { prefixLength, groups, causal } = this.layout;
    if (prefixLength !== 0 || groups.length !== 1 || causal) throw new Error('forwardFused needs one group of sequences without a prefix or a mask');
    const length = groups[0]!.length;
    const hidden = ops.reshape(ops.layerNorm(x, this.weights.ln1, `${this.hint}_ln1`), [-1, length, w]); // [n, R, W]
    const inWeight = g.initializer(g.fresh(`${this.hint}_in_wT`), transposeHost(inProj.weight, 3 * w, w), [w, 3 * w]); // [W, 3W]: q | k | v columns
    const inBias = g.initializer(g.fresh(`${this.hint}_in_b`), inProj.bias, [3 * w]);
    const attended = g.contribOp('Attention', [hidden, inWeight, inBias], { num_heads: this.weights.heads, scale: float(1) }); // [n, R, W]
    const y = ops.add(x, ops.linear(ops.reshape(attended, [-1, w]), outProj.weight, outProj.bias, w, w, `${this.hint}_out`)); // [N, W]
    const u = ops.linear(ops.layerNorm(y, this.weights.ln2, `${this.hint}_ln2`), fc.weight, fc.bias, 4 * w, w, `${this.hint}_fc`); // [N, 4W]
    return ops.add(y, ops.linear(ops.quickGelu(u), proj.weight, proj.bias, w, 4 * w, `${this.hint}_proj`));
  }

  /**
   * dL/dx [N, W] from dL/d(out) [Nq, W]. With out = y + c_proj(QuickGELU(c_fc(ln_2(y)))) and
   * y = x + out_proj(attn(ln_1(x))):
   *   dy = dout + ln_2ᵀ((QuickGELU'(u) ⊙ dout·W_proj)·W_fc)
   *   dx = dy (at the query rows) + ln_1ᵀ([dq | dk | dv]·W_in)
   */
  backward(trace: BlockTrace, dOut: string, options: BlockOptions = {}): string {
    const { ops, w } = this;
    const { inProj, outProj, fc, proj, ln1, ln2 } = this.weights;
    const queryRows = options.queryRows;
    const dGelu = ops.linearBackward(dOut, proj.weight, w, 4 * w, `${this.hint}_proj`); // [Nq, 4W]
    const dHidden2 = ops.linearBackward(ops.quickGeluBackward(trace.u, dGelu), fc.weight, 4 * w, w, `${this.hint}_fc`); // [Nq, W]
    const dy = ops.add(dOut, ops.layerNormBackward(trace.y, dHidden2, ln2, `${this.hint}_ln2`)); // [Nq, W]
    const dAttended = ops.linearBackward(dy, outProj.weight, w, w, `${this.hint}_out`); // [Nq, W]
    const { dq, dk, dv } = this.attention.backward(trace, dAttended, queryRows);
    if (!queryRows) {
      const dHidden1 = ops.linearBackward(ops.concat([dq, dk, dv], 1), inProj.weight, 3 * w, w, `${this.hint}_in`); // [N, 3W] × [3W, W]
      return ops.add(dy, ops.layerNormBackward(trace.x, dHidden1, ln1, `${this.hint}_ln1`));
    }
    const fromKv = ops.linearBackward(ops.concat([dk, dv], 1), inProj.weight.subarray(w * w), 2 * w, w, `${this.hint}_kv`); // [N, 2W] × [2W, W]
    const fromQ = ops.linearBackward(dq, inProj.weight.subarray(0, w * w), w, w, `${this.hint}_q`); // [Nq, W] × [W, W]
    const dHidden1 = ops.add(fromKv, this.placeRows(fromQ, queryRows)); // [N, W]
    return ops.add(ops.layerNormBackward(trace.x, dHidden1, ln1, `${this.hint}_ln1`), this.placeRows(dy, queryRows));
  }

  /** One row of every sequence: x [N, W] → [Nq, W], group by group; the prefix has no query rows. */
  private selectRows(x: string, queryRows: readonly number[]): string {
    const { ops, g, w } = this;
    const blocks = ops.split(x, rowBlocks(this.layout), 0).slice(this.layout.prefixLength > 0 ? 1 : 0);
    const rows = this.layout.groups.map((grp, gi) => {
      const sequences = ops.reshape(blocks[gi]!, [-1, grp.length, w]); // [n·R, W] → [n, R, W]
      return g.op('Gather', [sequences, g.constInt64([queryRows[gi]!], [], 'row')], { axis: 1 }); // [n, W]
    });
    return ops.concat(rows, 0);
  }

  /** The transpose of selectRows: rows [Nq, W] → [N, W], each at its sequence's query row, zeros elsewhere. */
  private placeRows(rows: string, queryRows: readonly number[]): string {
    const { ops, g, w } = this;
    const p = this.layout.prefixLength;
    const perGroup = ops.split(rows, queryBlocks(this.layout), 0);
    const blocks = this.layout.groups.map((grp, gi) => {
      const row = queryRows[gi]!;
      const one = g.op('Unsqueeze', [perGroup[gi]!, g.constInt64([1])]); // [n, W] → [n, 1, W]
      const padded = g.op('Pad', [one, g.constInt64([0, row, 0, 0, grp.length - row - 1, 0], [6], 'pads')]); // [n, R, W]
      return ops.reshape(padded, [-1, w]); // [n·R, W]
    });
    if (p > 0) blocks.unshift(g.constFloat(new Float32Array(p * w), [p, w], `${this.hint}_zero_rows`)); // the prefix's rows: no query
    return ops.concat(blocks, 0);
  }
}
