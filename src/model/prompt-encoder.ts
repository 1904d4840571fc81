import * as tf from '@tensorflow/tfjs-core';
import { slotCtxIndex } from './prompt-plan.js';
import type { PromptSetup } from './prompt-setup.js';
import type { TextTower } from './text-tower.js';

/**
 * [1, L, W] → [n, L, W] by a broadcasting multiply with ones: exact, and its gradient is a plain sum over the
 * copies (tf.broadcastTo runs Tile, whose tfjs gradient slices every copy).
 */
function repeatRows(rows: tf.Tensor3D, n: number): tf.Tensor3D {
  return tf.mul(tf.ones([n, 1, 1]), rows);
}

/** A run of consecutive prompt rows with one source: constant token embeddings, or context vectors from..from+length−1. */
type Segment = { kind: 'tokens'; rows: tf.Tensor } | { kind: 'ctx'; from: number; length: number };

/** A group of the plan (classes ending at the same position) with its constant rows as tensors. */
interface PromptGroup {
  classes: number[];
  /** Own rows: positions prefixLength..EOT, inclusive. */
  length: number;
  segments: Segment[];
  /** With csc: [n, nCls] one-hot rows picking this group's class contexts by matMul (gather has no wasm gradient). */
  classSelector: tf.Tensor2D | undefined;
}

/** Some classes of one plan group: its classes from..to−1 (the group's stacking order). */
export interface GroupPiece {
  group: number;
  from: number;
  to: number;
}

/** A run of plan pieces of at most a given number of classes, and those classes in row order. */
export interface ClassChunk {
  pieces: GroupPiece[];
  classes: number[];
}

/**
 * Turns a prompt context tensor into text features [C, E], either the seed's way (every prompt in full,
 * context-length tokens) or by executing the host plan of `planPrompts` (src/model/prompt-plan.ts, shared
 * with the ONNX Runtime engine): each prompt runs only up to its EOT, prompts grouped by length, and the
 * rows shared by every class run once, the other rows attending to their keys/values. Gradients reach the
 * context through the prefix as they would through each prompt.
 */
export class PromptEncoder {
  readonly prefixLength: number;
  private readonly prefixSegments: Segment[];
  private readonly groups: PromptGroup[];
  /** [C, C] permutation from group order back to class order, or undefined when they already agree. */
  private readonly reorder: tf.Tensor2D | undefined;
  private fullPromptConstants: { prefix: tf.Tensor3D; suffix: tf.Tensor3D } | undefined;

  constructor(
    private readonly tower: TextTower,
    private readonly setup: PromptSetup,
  ) {
    const { plan } = setup;
    this.prefixLength = plan.prefixLength;
    this.prefixSegments = this.segmentsOf([plan.prefixSlots]);
    this.groups = plan.groups.map((g) => {
      let classSelector: tf.Tensor2D | undefined;
      if (plan.csc) {
        const oneHot = new Float32Array(g.classes.length * plan.numClasses);
        g.classes.forEach((c, i) => (oneHot[i * plan.numClasses + c] = 1));
        classSelector = tf.tensor2d(oneHot, [g.classes.length, plan.numClasses]);
      }
      return { classes: g.classes, length: g.length, segments: this.segmentsOf(g.slots), classSelector };
    });

    const c = plan.numClasses;
    if (plan.rowOfClass.some((row, cls) => row !== cls)) {
      const perm = new Float32Array(c * c);
      plan.rowOfClass.forEach((row, cls) => (perm[cls * c + row] = 1));
      this.reorder = tf.tensor2d(perm, [c, c]);
    }
  }

  /** Splits rows of n prompts (same context positions) into runs; token runs become constant [n, len, W] tensors. */
  private segmentsOf(rows: readonly Int32Array[]): Segment[] {
    const n = rows.length;
    const len = rows[0]?.length ?? 0;
    const w = this.tower.width;
    const segments: Segment[] = [];
    let i = 0;
    while (i < len) {
      const first = rows[0]![i]!;
      if (first < 0) {
        const from = slotCtxIndex(first);
        let j = i + 1;
        while (j < len && rows[0]![j]! === first - (j - i)) j++; // consecutive context vectors
        segments.push({ kind: 'ctx', from, length: j - i });
        i = j;
      } else {
        let j = i + 1;
        while (j < len && rows[0]![j]! >= 0) j++;
        const values = new Float32Array(n * (j - i) * w);
        rows.forEach((row, r) => values.set(this.tower.embedTokens(row.subarray(i, j)), r * (j - i) * w));
        segments.push({ kind: 'tokens', rows: tf.tensor3d(values, [n, j - i, w]) });
        i = j;
      }
    }
    return segments;
  }

  /** Concatenates a group's (or the prefix's) segments into [n, len, W]. */
  private assemble(ctx: tf.Tensor, segments: Segment[], n: number, classSelector: tf.Tensor2D | undefined): tf.Tensor3D {
    const { setup } = this;
    const w = this.tower.width;
    let classContexts: tf.Tensor3D | undefined;
    const parts = segments.map((s): tf.Tensor3D => {
      if (s.kind === 'tokens') return s.rows as tf.Tensor3D;
      if (classSelector) {
        classContexts ??= tf.reshape(
          tf.matMul(classSelector, tf.reshape(ctx, [setup.numClasses, setup.nCtx * w])),
          [n, setup.nCtx, w],
        ) as tf.Tensor3D; // [n, nCls] × [nCls, nCtx·W] → [n, nCtx, W]
        return tf.slice(classContexts, [0, s.from, 0], [n, s.length, w]);
      }
      const rows: tf.Tensor3D = tf.reshape(tf.slice(ctx, [s.from, 0], [s.length, w]), [1, s.length, w]); // shared context [1, len, W]
      return repeatRows(rows, n);
    });
    return parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
  }

  /** Unnormalised text features [C, E] at `ctx` (the setup's ctxShape); differentiable with respect to it. */
  encode(ctx: tf.Tensor, shortcuts: boolean): tf.Tensor2D {
    return tf.tidy(() => (shortcuts ? this.encodeWithShortcuts(ctx) : this.tower.encodeFull(this.fullPrompts(ctx), this.setup.eotIndex)));
  }

  private encodeWithShortcuts(ctx: tf.Tensor): tf.Tensor2D {
    const prefix = this.runPrefix(ctx);
    const features = this.groups.map((g) =>
      this.tower.encodeEnding(this.assemble(ctx, g.segments, g.classes.length, g.classSelector), this.prefixLength, prefix),
    );
    const inGroupOrder = features.length === 1 ? features[0]! : tf.concat(features, 0);
    return this.reorder ? tf.matMul(this.reorder, inGroupOrder) : inGroupOrder;
  }

  /**
   * The plan's classes cut into chunks of at most `maxClasses` (a group may be split: any subset of its
   * classes ends at the same position). Differentiating chunk by chunk bounds the gradient tape by the chunk.
   */
  classChunks(maxClasses: number): ClassChunk[] {
    const chunks: ClassChunk[] = [];
    let current: ClassChunk = { pieces: [], classes: [] };
    this.groups.forEach((g, group) => {
      for (let from = 0; from < g.classes.length; ) {
        const to = Math.min(g.classes.length, from + maxClasses - current.classes.length);
        current.pieces.push({ group, from, to });
        current.classes.push(...g.classes.slice(from, to));
        from = to;
        if (current.classes.length === maxClasses) {
          chunks.push(current);
          current = { pieces: [], classes: [] };
        }
      }
    });
    if (current.classes.length > 0) chunks.push(current);
    return chunks;
  }

  /**
   * Unnormalised text features [n, E] of a chunk's classes, in its row order (the shortcut path; the shared
   * prefix is run again per chunk: a few rows). Differentiable with respect to ctx.
   */
  encodeChunk(ctx: tf.Tensor, chunk: ClassChunk): tf.Tensor2D {
    return tf.tidy(() => {
      const prefix = this.runPrefix(ctx);
      const features = chunk.pieces.map(({ group, from, to }) => {
        const g = this.groups[group]!;
        const n = to - from;
        const whole = n === g.classes.length;
        // [n_g, len, W] → [n, len, W] and [n_g, nCls] → [n, nCls]: this piece's rows of the group's constants.
        const segments = whole ? g.segments : g.segments.map((s): Segment => (s.kind === 'tokens' ? { kind: 'tokens', rows: tf.slice(s.rows, [from, 0, 0], [n, -1, -1]) } : s));
        const selector = g.classSelector && (whole ? g.classSelector : tf.slice(g.classSelector, [from, 0], [n, -1]));
        return this.tower.encodeEnding(this.assemble(ctx, segments, n, selector), this.prefixLength, prefix);
      });
      return features.length === 1 ? features[0]! : tf.concat(features, 0);
    });
  }

  /** The shared prefix's keys and values per layer, or null when the plan has none. */
  private runPrefix(ctx: tf.Tensor) {
    if (this.prefixLength === 0) return null;
    const prefixRows: tf.Tensor2D = tf.reshape(this.assemble(ctx, this.prefixSegments, 1, undefined), [this.prefixLength, this.tower.width]); // [1, P, W] → [P, W]
    return this.tower.runSharedPrefix(prefixRows);
  }

  /** The seed's PromptLearner.forward: [C, contextLength, W] prompt embeddings. */
  fullPrompts(ctx: tf.Tensor): tf.Tensor3D {
    const { setup } = this;
    const w = this.tower.width;
    const n = setup.nCtx;
    const c = setup.numClasses;
    const { prefix, suffix } = this.fullConstants();
    const suffixLength = suffix.shape[1];
    if (setup.classTokenPosition === 'end') {
      const all = setup.csc ? ctx : repeatRows(tf.reshape(ctx, [1, n, w]), c); // [nCtx, W] → [1, nCtx, W] → [C, nCtx, W]
      return tf.concat([prefix, all as tf.Tensor3D, suffix], 1);
    }
    const prompts = setup.classnames.map((_, i): tf.Tensor3D => {
      const nameLength = setup.nameLengths[i]!;
      // Class i's context [1, nCtx, W]: a slice of ctx with csc, the shared ctx without.
      const classCtx = setup.csc ? tf.slice(ctx, [i, 0, 0], [1, n, w]) : tf.reshape(ctx, [1, n, w]);
      const prefixI = tf.slice(prefix, [i, 0, 0], [1, 1, w]);
      const classI = tf.slice(suffix, [i, 0, 0], [1, nameLength, w]);
      const suffixI = tf.slice(suffix, [i, nameLength, 0], [1, suffixLength - nameLength, w]);
      if (setup.classTokenPosition === 'middle') {
        const half = setup.splitIndex;
        const first = tf.slice(classCtx, [0, 0, 0], [1, half, w]);
        const second = tf.slice(classCtx, [0, half, 0], [1, n - half, w]);
        return tf.concat([prefixI, first, classI, second, suffixI], 1) as tf.Tensor3D;
      }
      return tf.concat([prefixI, classI, classCtx, suffixI], 1) as tf.Tensor3D;
    });
    return tf.concat(prompts, 0) as tf.Tensor3D;
  }

  /** token_prefix [C, 1, W] and token_suffix [C, L−1−nCtx, W], built on first use (tens of MB at RN50 size). */
  private fullConstants(): { prefix: tf.Tensor3D; suffix: tf.Tensor3D } {
    if (!this.fullPromptConstants) {
      const { setup } = this;
      const w = this.tower.width;
      const l = this.tower.contextLength;
      const c = setup.numClasses;
      const suffixLength = l - 1 - setup.nCtx;
      const prefix = new Float32Array(c * w);
      const suffix = new Float32Array(c * suffixLength * w);
      setup.tokenizedPrompts.forEach((ids, i) => {
        prefix.set(this.tower.embedTokens(ids.subarray(0, 1)), i * w);
        suffix.set(this.tower.embedTokens(ids.subarray(1 + setup.nCtx)), i * suffixLength * w);
      });
      this.fullPromptConstants = {
        prefix: tf.keep(tf.tensor3d(prefix, [c, 1, w])),
        suffix: tf.keep(tf.tensor3d(suffix, [c, suffixLength, w])),
      };
    }
    return this.fullPromptConstants;
  }

  dispose(): void {
    const disposeSegments = (segments: Segment[]) => segments.forEach((s) => s.kind === 'tokens' && s.rows.dispose());
    disposeSegments(this.prefixSegments);
    for (const g of this.groups) {
      disposeSegments(g.segments);
      g.classSelector?.dispose();
    }
    this.reorder?.dispose();
    this.fullPromptConstants?.prefix.dispose();
    this.fullPromptConstants?.suffix.dispose();
    this.fullPromptConstants = undefined;
  }
}
