import * as tf from '@tensorflow/tfjs-core';
import type { PromptLearner } from './prompt-learner.js';
import { slotCtxIndex } from './prompt-learner.js';
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

/** Classes whose prompts end at the same position and have their context rows at the same places. */
interface PromptGroup {
  classes: number[];
  /** Own rows: positions prefixLength..EOT, inclusive. */
  length: number;
  segments: Segment[];
  /** With csc: [n, nCls] one-hot rows picking this group's class contexts by matMul (gather has no wasm gradient). */
  classSelector: tf.Tensor2D | undefined;
}

/**
 * Turns the prompt learner's context into text features [C, E], either the seed's way (every prompt in full,
 * context-length tokens) or with two exact shortcuts:
 * - end tokens: under the causal mask nothing after a prompt's EOT can change the EOT row, so each prompt is
 *   run only up to its EOT; prompts are grouped by length so the EOT row is a plain slice;
 * - shared prefix: the longest run of leading rows identical for all classes (SOT + ctx for 'end' without csc)
 *   is run once, and every class's remaining rows attend to its keys/values. Gradients reach the context
 *   through the prefix as they would through each prompt.
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
    private readonly learner: PromptLearner,
  ) {
    const slots = learner.slots;
    const minEot = Math.min(...learner.eotIndex);
    // csc contexts differ per class, so a context row is only "shared" without csc.
    const shared = (pos: number) => {
      const s = slots[0]![pos]!;
      if (s < 0 && learner.csc) return false;
      return slots.every((row) => row[pos] === s);
    };
    let p = 0;
    while (p < minEot && shared(p)) p++; // every class keeps at least its EOT row of its own
    this.prefixLength = p;
    this.prefixSegments = this.segmentsOf(slots.slice(0, 1).map((row) => row.subarray(0, p)));

    const byKey = new Map<string, number[]>();
    learner.eotIndex.forEach((eot, c) => {
      const own = slots[c]!.subarray(p, eot + 1);
      const key = `${eot}:${Array.from(own, (s) => (s < 0 ? s : 't')).join(',')}`;
      const members = byKey.get(key);
      if (members) members.push(c);
      else byKey.set(key, [c]);
    });
    this.groups = [...byKey.values()].map((classes) => {
      const length = learner.eotIndex[classes[0]!]! - p + 1;
      const own = classes.map((c) => slots[c]!.subarray(p, p + length));
      let classSelector: tf.Tensor2D | undefined;
      if (learner.csc) {
        const oneHot = new Float32Array(classes.length * learner.numClasses);
        classes.forEach((c, i) => (oneHot[i * learner.numClasses + c] = 1));
        classSelector = tf.tensor2d(oneHot, [classes.length, learner.numClasses]);
      }
      return { classes, length, segments: this.segmentsOf(own), classSelector };
    });

    const order = this.groups.flatMap((g) => g.classes);
    if (order.some((c, i) => c !== i)) {
      const perm = new Float32Array(order.length * order.length);
      order.forEach((c, i) => (perm[c * order.length + i] = 1));
      this.reorder = tf.tensor2d(perm, [order.length, order.length]);
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
  private assemble(segments: Segment[], n: number, classSelector: tf.Tensor2D | undefined): tf.Tensor3D {
    const { learner } = this;
    const w = this.tower.width;
    let classContexts: tf.Tensor3D | undefined;
    const parts = segments.map((s): tf.Tensor3D => {
      if (s.kind === 'tokens') return s.rows as tf.Tensor3D;
      if (classSelector) {
        classContexts ??= tf.reshape(
          tf.matMul(classSelector, tf.reshape(learner.ctx, [learner.numClasses, learner.nCtx * w])),
          [n, learner.nCtx, w],
        ) as tf.Tensor3D; // [n, nCls] × [nCls, nCtx·W] → [n, nCtx, W]
        return tf.slice(classContexts, [0, s.from, 0], [n, s.length, w]);
      }
      const rows: tf.Tensor3D = tf.reshape(tf.slice(learner.ctx, [s.from, 0], [s.length, w]), [1, s.length, w]); // shared context [1, len, W]
      return repeatRows(rows, n);
    });
    return parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
  }

  /** Unnormalised text features [C, E]; differentiable with respect to the context. */
  encode(shortcuts: boolean): tf.Tensor2D {
    return tf.tidy(() => (shortcuts ? this.encodeWithShortcuts() : this.tower.encodeFull(this.fullPrompts(), this.learner.eotIndex)));
  }

  private encodeWithShortcuts(): tf.Tensor2D {
    const w = this.tower.width;
    let prefix = null;
    if (this.prefixLength > 0) {
      const prefixRows: tf.Tensor2D = tf.reshape(this.assemble(this.prefixSegments, 1, undefined), [this.prefixLength, w]); // [1, P, W] → [P, W]
      prefix = this.tower.runSharedPrefix(prefixRows);
    }
    const features = this.groups.map((g) =>
      this.tower.encodeEnding(this.assemble(g.segments, g.classes.length, g.classSelector), this.prefixLength, prefix),
    );
    const inGroupOrder = features.length === 1 ? features[0]! : tf.concat(features, 0);
    return this.reorder ? tf.matMul(this.reorder, inGroupOrder) : inGroupOrder;
  }

  /** The seed's PromptLearner.forward: [C, contextLength, W] prompt embeddings. */
  fullPrompts(): tf.Tensor3D {
    const { learner } = this;
    const w = this.tower.width;
    const n = learner.nCtx;
    const c = learner.numClasses;
    const { prefix, suffix } = this.fullConstants();
    const suffixLength = suffix.shape[1];
    if (learner.classTokenPosition === 'end') {
      const ctx = learner.csc ? learner.ctx : repeatRows(tf.reshape(learner.ctx, [1, n, w]), c); // [nCtx, W] → [1, nCtx, W] → [C, nCtx, W]
      return tf.concat([prefix, ctx as tf.Tensor3D, suffix], 1);
    }
    const prompts = learner.classnames.map((_, i): tf.Tensor3D => {
      const nameLength = learner.nameLengths[i]!;
      const ctx = tf.reshape(learner.classContext(i), [1, n, w]); // [1, nCtx, W]
      const prefixI = tf.slice(prefix, [i, 0, 0], [1, 1, w]);
      const classI = tf.slice(suffix, [i, 0, 0], [1, nameLength, w]);
      const suffixI = tf.slice(suffix, [i, nameLength, 0], [1, suffixLength - nameLength, w]);
      if (learner.classTokenPosition === 'middle') {
        const half = learner.splitIndex;
        const first = tf.slice(ctx, [0, 0, 0], [1, half, w]);
        const second = tf.slice(ctx, [0, half, 0], [1, n - half, w]);
        return tf.concat([prefixI, first, classI, second, suffixI], 1) as tf.Tensor3D;
      }
      return tf.concat([prefixI, classI, ctx, suffixI], 1) as tf.Tensor3D;
    });
    return tf.concat(prompts, 0) as tf.Tensor3D;
  }

  /** token_prefix [C, 1, W] and token_suffix [C, L−1−nCtx, W], built on first use (tens of MB at RN50 size). */
  private fullConstants(): { prefix: tf.Tensor3D; suffix: tf.Tensor3D } {
    if (!this.fullPromptConstants) {
      const { learner } = this;
      const w = this.tower.width;
      const l = this.tower.contextLength;
      const c = learner.numClasses;
      const suffixLength = l - 1 - learner.nCtx;
      const prefix = new Float32Array(c * w);
      const suffix = new Float32Array(c * suffixLength * w);
      learner.tokenizedPrompts.forEach((ids, i) => {
        prefix.set(this.tower.embedTokens(ids.subarray(0, 1)), i * w);
        suffix.set(this.tower.embedTokens(ids.subarray(1 + learner.nCtx)), i * suffixLength * w);
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
