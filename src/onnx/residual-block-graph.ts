import type { StateDict } from '../weights/host-tensor.js';
import { takeParam } from '../model/model-weights.js';
import type { Dim, OnnxGraph } from './graph-builder.js';
import { GraphOps } from './graph-ops.js';

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

/** Finite "−∞" for masked scores, as in the tfjs tower: exp underflows to 0 and gradients stay finite. */
export const MASKED = -1e9;

export interface RowGroup {
  /**
   * Sequences in the group (classes, views). A symbolic count (a Dim name, fixed when the session runs) works
   * for a layout of one group and no prefix, as a ViT's views: nothing then needs row arithmetic.
   */
  count: Dim;
  /** Rows of each sequence. */
  length: number;
}

export interface RowLayout {
  /** Rows shared by every sequence, first in x; 0 for none. */
  prefixLength: number;
  groups: readonly RowGroup[];
  /** Causal mask: each row sees the prefix and its own sequence's rows up to itself. */
  causal: boolean;
}

export interface BlockOptions {
  /** Per group, the one row of each sequence to compute (see the file comment); the prefix gets no queries. */
  queryRows?: readonly number[] | undefined;
}

function numericCount(g: RowGroup): number {
  if (typeof g.count !== 'number') throw new Error(`a symbolic sequence count (${g.count}) needs a layout of one group and no prefix`);
  return g.count;
}

/** N, for a layout of fixed counts. */
export function layoutRows(layout: RowLayout): number {
  return layout.prefixLength + layout.groups.reduce((n, g) => n + numericCount(g) * g.length, 0);
}

/** Row counts of the layout's blocks of x [N, W]: [P, n_0·R_0, …] (no P without a prefix). */
function rowBlocks(layout: RowLayout): number[] {
  const single = layout.groups.length === 1 && layout.prefixLength === 0;
  // One block is never split, so its size is not needed (and may be symbolic).
  const groups = layout.groups.map((g) => (single ? 0 : numericCount(g) * g.length));
  return layout.prefixLength > 0 ? [layout.prefixLength, ...groups] : groups;
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

/** One sequence group's (or the prefix's) slice of the attention, heads first. */
interface AttentionPart {
  /** Query rows and key rows of each sequence. */
  queries: number;
  keys: number;
  /** Additive mask [queries, keys] over own keys, or none. */
  mask: string | undefined;
  /** Whether the part attends to the prefix's keys/values first (groups of a layout with a prefix). */
  afterPrefix: boolean;
}

/** Forward values of one part, recomputed identically in both graphs. */
interface PartForward {
  /** [n, H, Rq, d], [n, H, R, d], [n, H, R, d] */
  q: string;
  k: string;
  v: string;
  /** Softmax weights over [prefix | own] keys: [n, H, Rq, P] (afterPrefix only) and [n, H, Rq, R]. */
  prefixWeights: string | undefined;
  ownWeights: string;
}

export class ResidualBlockGraph {
  private readonly ops: GraphOps;
  private readonly w: number;
  private readonly h: number;
  private readonly d: number;
  private readonly masks = new Map<string, string>();

  constructor(
    private readonly g: OnnxGraph,
    private readonly weights: BlockWeights,
    private readonly layout: RowLayout,
    private readonly hint: string,
  ) {
    this.ops = new GraphOps(g);
    this.w = weights.width;
    this.h = weights.heads;
    this.d = weights.width / weights.heads;
  }

  /** Additive mask [queries, keys]: own key j is visible to query row i (at row `firstRow + i`) when j ≤ it. */
  private mask(queries: number, keys: number, firstRow: number): string | undefined {
    if (!this.layout.causal || (queries === 1 && firstRow === keys - 1)) return undefined;
    const key = `${queries}:${keys}:${firstRow}`;
    let m = this.masks.get(key);
    if (!m) {
      const values = new Float32Array(queries * keys);
      for (let i = 0; i < queries; i++) for (let j = firstRow + i + 1; j < keys; j++) values[i * keys + j] = MASKED;
      m = this.g.constFloat(values, [queries, keys], `${this.hint}_mask`);
      this.masks.set(key, m);
    }
    return m;
  }

  /** The parts of the layout in row order: the prefix (full queries only), then each group. */
  private parts(queryRows: readonly number[] | undefined): AttentionPart[] {
    const { prefixLength: p, groups } = this.layout;
    const parts: AttentionPart[] = [];
    if (p > 0 && !queryRows) parts.push({ queries: p, keys: p, mask: this.mask(p, p, 0), afterPrefix: false });
    groups.forEach((grp, gi) => {
      const row = queryRows?.[gi];
      parts.push({
        queries: row === undefined ? grp.length : 1,
        keys: grp.length,
        mask: row === undefined ? this.mask(grp.length, grp.length, 0) : this.mask(1, grp.length, row),
        afterPrefix: p > 0,
      });
    });
    return parts;
  }

  /** [n·R, W] → [n, R, H, d] → [n, H, R, d] */
  private toHeads(t: string, rows: number): string {
    return this.ops.transpose(this.ops.reshape(t, [-1, rows, this.h, this.d]), [0, 2, 1, 3]);
  }

  /** [n, H, R, d] → [n, R, H, d] → [n·R, W] */
  private fromHeads(t: string): string {
    return this.ops.reshape(this.ops.transpose(t, [0, 2, 1, 3]), [-1, this.w]);
  }

  /** [n, H, R, d] → [n, H, d, R] */
  private swapLast(t: string): string {
    return this.ops.transpose(t, [0, 1, 3, 2]);
  }

  /**
   * Splits q [Nq, W], k, v [N, W] into heads-first parts (prefix first when present) and computes each part's
   * softmax weights. Scores: own q·kᵀ (+ mask), and q·k_prefixᵀ broadcast over the group's sequences.
   */
  private attentionForward(q: string, k: string, v: string, queryRows: readonly number[] | undefined) {
    const { ops } = this;
    const p = this.layout.prefixLength;
    const keyRows = rowBlocks(this.layout);
    const qs = ops.split(q, queryRows ? this.queryBlocks() : keyRows, 0);
    const ks = ops.split(k, keyRows, 0);
    const vs = ops.split(v, keyRows, 0);
    // The prefix's keys and values [1, H, P, d] (and kᵀ [1, H, d, P]), shared by every group.
    const prefixK = p > 0 ? this.toHeads(ks[0]!, p) : undefined;
    const prefixV = p > 0 ? this.toHeads(vs[0]!, p) : undefined;
    const prefixKT = prefixK ? this.swapLast(prefixK) : undefined;
    const parts = this.parts(queryRows);
    // q splits into the parts' own rows; k and v keep the prefix's rows first even when it has no part.
    const kvShift = p > 0 && queryRows ? 1 : 0;
    const forwards: PartForward[] = parts.map((part, i) => {
      const kvIndex = i + kvShift;
      const pq = this.toHeads(qs[i]!, part.queries); // [n, H, Rq, d]
      const pk = this.toHeads(ks[kvIndex]!, part.keys);
      const pv = this.toHeads(vs[kvIndex]!, part.keys);
      let own = ops.matmul(pq, this.swapLast(pk)); // [n, H, Rq, d] × [n, H, d, R] → [n, H, Rq, R]
      if (part.mask) own = ops.add(own, part.mask);
      if (!part.afterPrefix) return { q: pq, k: pk, v: pv, prefixWeights: undefined, ownWeights: this.g.op('Softmax', [own], { axis: -1 }) };
      const fromPrefix = ops.matmul(pq, prefixKT!); // [n, H, Rq, d] × [1, H, d, P] → [n, H, Rq, P]
      const weights = this.g.op('Softmax', [ops.concat([fromPrefix, own], -1)], { axis: -1 }); // [n, H, Rq, P+R]
      const [prefixWeights, ownWeights] = ops.split(weights, [p, part.keys], -1);
      return { q: pq, k: pk, v: pv, prefixWeights, ownWeights: ownWeights! };
    });
    return { parts, forwards, prefixK, prefixV };
  }

  /** Attention output [Nq, W]: per part, weights·[v_prefix | v_own], heads merged, parts concatenated. */
  private attend(q: string, k: string, v: string, queryRows: readonly number[] | undefined): string {
    const { ops } = this;
    const { forwards, prefixV } = this.attentionForward(q, k, v, queryRows);
    const outputs = forwards.map((f) => {
      let o = ops.matmul(f.ownWeights, f.v); // [n, H, Rq, R] × [n, H, R, d] → [n, H, Rq, d]
      if (f.prefixWeights) o = ops.add(ops.matmul(f.prefixWeights, prefixV!), o); // + [n, H, Rq, P] × [1, H, P, d]
      return this.fromHeads(o);
    });
    return ops.concat(outputs, 0);
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
    const attended = this.attend(q, k, v, queryRows); // [Nq, W]
    const y = ops.add(residual, ops.linear(attended, outProj.weight, outProj.bias, w, w, `${this.hint}_out`));
    const u = ops.linear(ops.layerNorm(y, this.weights.ln2, `${this.hint}_ln2`), fc.weight, fc.bias, 4 * w, w, `${this.hint}_fc`); // [Nq, 4W]
    const out = ops.add(y, ops.linear(ops.quickGelu(u), proj.weight, proj.bias, w, 4 * w, `${this.hint}_proj`)); // [Nq, W]
    return { out, trace: { x, q, k, v, y, u } };
  }

  /**
   * Causal attention backward, per part, from dO [Nq, W] (merged heads), with the softmax weights A recomputed:
   *   dA = dO·vᵀ, dS = A ⊙ (dA − rowsum(dA ⊙ A))          (softmax over [prefix | own] scores)
   *   dq = dS·k, dk = dSᵀ·q, dv = Aᵀ·dO                  (per part, own keys)
   * The prefix's keys and values receive dS_prefixᵀ·q and A_prefixᵀ·dO from EVERY group, each summed over the
   * group's sequences by one matmul over [H, P, n·Rq] × [H, n·Rq, d], plus their own part's.
   * Returns dq [Nq, W], dk and dv [N, W] in the rows of q, k, v.
   */
  private attentionBackward(trace: BlockTrace, dO: string, queryRows: readonly number[] | undefined): { dq: string; dk: string; dv: string } {
    const { ops } = this;
    const p = this.layout.prefixLength;
    const { parts, forwards, prefixK, prefixV } = this.attentionForward(trace.q, trace.k, trace.v, queryRows);
    const dOs = ops.split(dO, queryRows ? this.queryBlocks() : rowBlocks(this.layout), 0);
    const dqs: string[] = [];
    const dks: string[] = [];
    const dvs: string[] = [];
    const prefixDk: string[] = [];
    const prefixDv: string[] = [];
    parts.forEach((part, i) => {
      const f = forwards[i]!;
      const dOh = this.toHeads(dOs[i]!, part.queries); // [n, H, Rq, d]
      const dOwn = ops.matmul(dOh, this.swapLast(f.v)); // dA_own = dO·v_ownᵀ [n, H, Rq, R]
      let dsOwn: string;
      let dsPrefix: string | undefined;
      if (f.prefixWeights) {
        const dPrefix = ops.matmul(dOh, this.swapLast(prefixV!)); // dA_prefix = dO·v_prefixᵀ [n, H, Rq, P]
        // rowsum(dA ⊙ A) over the concatenated [prefix | own] keys: [n, H, Rq, 1]
        const rowSum = ops.add(ops.sumLast(ops.mul(f.prefixWeights, dPrefix)), ops.sumLast(ops.mul(f.ownWeights, dOwn)));
        dsPrefix = ops.mul(f.prefixWeights, ops.sub(dPrefix, rowSum));
        dsOwn = ops.mul(f.ownWeights, ops.sub(dOwn, rowSum));
      } else {
        dsOwn = ops.mul(f.ownWeights, ops.sub(dOwn, ops.sumLast(ops.mul(f.ownWeights, dOwn))));
      }
      let dq = ops.matmul(dsOwn, f.k); // [n, H, Rq, R] × [n, H, R, d]
      if (dsPrefix) dq = ops.add(ops.matmul(dsPrefix, prefixK!), dq); // + [n, H, Rq, P] × [1, H, P, d]
      dqs.push(this.fromHeads(dq));
      const dk = ops.matmul(this.swapLast(dsOwn), f.q); // [n, H, R, Rq] × [n, H, Rq, d] → [n, H, R, d]
      const dv = ops.matmul(this.swapLast(f.ownWeights), dOh); // [n, H, R, Rq] × [n, H, Rq, d]
      if (part.afterPrefix) {
        dks.push(this.fromHeads(dk));
        dvs.push(this.fromHeads(dv));
        // Sum over the group's n sequences inside one matmul: [n, H, Rq, P] → [H, P, n·Rq]; [n, H, Rq, d] → [H, n·Rq, d].
        const overSequences = (t: string, cols: number) => ops.reshape(ops.transpose(t, [1, 3, 0, 2]), [this.h, cols, -1]);
        const stacked = (t: string) => ops.reshape(ops.transpose(t, [1, 0, 2, 3]), [this.h, -1, this.d]);
        prefixDk.push(ops.matmul(overSequences(dsPrefix!, p), stacked(f.q))); // [H, P, d]
        prefixDv.push(ops.matmul(overSequences(f.prefixWeights!, p), stacked(dOh))); // [H, P, d]
      } else if (p > 0 && i === 0) {
        // The prefix's own causal self-attention: [1, H, P, d] → [H, P, d].
        prefixDk.push(ops.reshape(dk, [this.h, p, this.d]));
        prefixDv.push(ops.reshape(dv, [this.h, p, this.d]));
      } else {
        dks.push(this.fromHeads(dk));
        dvs.push(this.fromHeads(dv));
      }
    });
    // [H, P, d] → [P, H, d] → [P, W], first in the rows of k and v.
    const prefixRows = (t: string[]) => ops.reshape(ops.transpose(ops.sum(t), [1, 0, 2]), [p, this.w]);
    if (p > 0) {
      dks.unshift(prefixRows(prefixDk));
      dvs.unshift(prefixRows(prefixDv));
    }
    return { dq: ops.concat(dqs, 0), dk: ops.concat(dks, 0), dv: ops.concat(dvs, 0) };
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
    const { dq, dk, dv } = this.attentionBackward(trace, dAttended, queryRows);
    if (!queryRows) {
      const dHidden1 = ops.linearBackward(ops.concat([dq, dk, dv], 1), inProj.weight, 3 * w, w, `${this.hint}_in`); // [N, 3W] × [3W, W]
      return ops.add(dy, ops.layerNormBackward(trace.x, dHidden1, ln1, `${this.hint}_ln1`));
    }
    const fromKv = ops.linearBackward(ops.concat([dk, dv], 1), inProj.weight.subarray(w * w), 2 * w, w, `${this.hint}_kv`); // [N, 2W] × [2W, W]
    const fromQ = ops.linearBackward(dq, inProj.weight.subarray(0, w * w), w, w, `${this.hint}_q`); // [Nq, W] × [W, W]
    const dHidden1 = ops.add(fromKv, this.placeRows(fromQ, queryRows)); // [N, W]
    return ops.add(ops.layerNormBackward(trace.x, dHidden1, ln1, `${this.hint}_ln1`), this.placeRows(dy, queryRows));
  }

  /** Row counts of the query rows' blocks: one row per sequence of each group. */
  private queryBlocks(): number[] {
    const groups = this.layout.groups;
    return groups.length === 1 ? [0] : groups.map(numericCount);
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
    const perGroup = ops.split(rows, this.queryBlocks(), 0);
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
