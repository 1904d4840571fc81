import type { Dim, OnnxGraph } from './graph-builder.js';
import { GraphOps } from './graph-ops.js';
import type { BlockTrace } from './residual-block-graph.js';

/**
 * Multi-head attention over a row layout, as ONNX nodes, forward and (hand-derived) backward: the attention
 * inside a ResidualBlockGraph. Rows are one matrix [N, W] (a `RowLayout`): an optional shared prefix of P rows,
 * then groups of `count` sequences of `length` rows. Each sequence attends to the prefix's keys/values and to
 * its own rows (causally for the text tower; without a mask for a ViT: one group of views, no prefix). With
 * `queryRows`, each sequence has one query row (the last block's EOT or class token).
 *
 * Shapes: N rows, Nq query rows, W width, H heads, d = W/H; q arrives scaled by 1/√d.
 */

/** Finite "−∞" for masked scores, as in the tfjs tower: exp underflows to 0 and gradients stay finite. */
const MASKED = -1e9;

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

function numericCount(g: RowGroup): number {
  if (typeof g.count !== 'number') throw new Error(`a symbolic sequence count (${g.count}) needs a layout of one group and no prefix`);
  return g.count;
}

/** N, for a layout of fixed counts. */
export function layoutRows(layout: RowLayout): number {
  return layout.prefixLength + layout.groups.reduce((n, g) => n + numericCount(g) * g.length, 0);
}

/** Row counts of the layout's blocks of x [N, W]: [P, n_0·R_0, …] (no P without a prefix). */
export function rowBlocks(layout: RowLayout): number[] {
  const single = layout.groups.length === 1 && layout.prefixLength === 0;
  // One block is never split, so its size is not needed (and may be symbolic).
  const groups = layout.groups.map((g) => (single ? 0 : numericCount(g) * g.length));
  return layout.prefixLength > 0 ? [layout.prefixLength, ...groups] : groups;
}

/** Row counts of the query rows' blocks: one row per sequence of each group. */
export function queryBlocks(layout: RowLayout): number[] {
  const groups = layout.groups;
  return groups.length === 1 ? [0] : groups.map(numericCount);
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

export class LayoutAttentionGraph {
  private readonly ops: GraphOps;
  private readonly h: number;
  private readonly d: number;
  private readonly masks = new Map<string, string>();

  constructor(
    private readonly g: OnnxGraph,
    private readonly layout: RowLayout,
    private readonly w: number,
    heads: number,
    private readonly hint: string,
  ) {
    this.ops = new GraphOps(g);
    this.h = heads;
    this.d = w / heads;
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
  private weights(q: string, k: string, v: string, queryRows: readonly number[] | undefined) {
    const { ops } = this;
    const p = this.layout.prefixLength;
    const keyRows = rowBlocks(this.layout);
    const qs = ops.split(q, queryRows ? queryBlocks(this.layout) : keyRows, 0);
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

  /** Attention output [Nq, W] from q [Nq, W], k, v [N, W]: per part, weights·[v_prefix | v_own], heads merged, parts concatenated. */
  forward(q: string, k: string, v: string, queryRows: readonly number[] | undefined): string {
    const { ops } = this;
    const { forwards, prefixV } = this.weights(q, k, v, queryRows);
    const outputs = forwards.map((f) => {
      let o = ops.matmul(f.ownWeights, f.v); // [n, H, Rq, R] × [n, H, R, d] → [n, H, Rq, d]
      if (f.prefixWeights) o = ops.add(ops.matmul(f.prefixWeights, prefixV!), o); // + [n, H, Rq, P] × [1, H, P, d]
      return this.fromHeads(o);
    });
    return ops.concat(outputs, 0);
  }

  /**
   * Causal attention backward, per part, from dO [Nq, W] (merged heads), with the softmax weights A recomputed:
   *   dA = dO·vᵀ, dS = A ⊙ (dA − rowsum(dA ⊙ A))          (softmax over [prefix | own] scores)
   *   dq = dS·k, dk = dSᵀ·q, dv = Aᵀ·dO                  (per part, own keys)
   * The prefix's keys and values receive dS_prefixᵀ·q and A_prefixᵀ·dO from EVERY group, each summed over the
   * group's sequences by one matmul over [H, P, n·Rq] × [H, n·Rq, d], plus their own part's.
   * Returns dq [Nq, W], dk and dv [N, W] in the rows of q, k, v.
   */
  backward(trace: Pick<BlockTrace, 'q' | 'k' | 'v'>, dO: string, queryRows: readonly number[] | undefined): { dq: string; dk: string; dv: string } {
    const { ops } = this;
    const p = this.layout.prefixLength;
    const { parts, forwards, prefixK, prefixV } = this.weights(trace.q, trace.k, trace.v, queryRows);
    const dOs = ops.split(dO, queryRows ? queryBlocks(this.layout) : rowBlocks(this.layout), 0);
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
}
