/**
 * Host planning of the text side, shared by both engines (no tensors here): which prompt rows are shared by
 * every class, where each prompt ends, and where each row comes from. Two exact shortcuts are derived here
 * once, and the tfjs and ONNX Runtime towers both execute this plan:
 * - end tokens: under the causal mask nothing after a prompt's EOT can change the EOT row, so each prompt is
 *   run only up to its EOT; prompts are grouped by length so the EOT row is a plain slice;
 * - shared prefix: the longest run of leading rows identical for all classes (SOT + ctx for 'end' without csc)
 *   is run once, and every class's remaining rows attend to its keys/values.
 *
 * A row's source is a slot (see PromptSlots): a token id ≥ 0 (a constant row of token_embedding) or context
 * vector j as −(j+1). With csc, context vector j of class c is ctx[c, j]; without, ctx[j].
 */

export type PromptSlots = Int32Array;
export const ctxSlot = (j: number): number => -(j + 1);
export const slotCtxIndex = (slot: number): number => -slot - 1;

/** Classes whose prompts end at the same position and have their context rows at the same places. */
export interface PromptGroupPlan {
  /** Class indices, in the order the group's rows are stacked. */
  classes: number[];
  /** Rows of each class after the prefix: positions prefixLength .. prefixLength+length−1, the last is its EOT. */
  length: number;
  /** [classes.length] slots of those rows, each [length]. */
  slots: PromptSlots[];
}

export interface PromptPlan {
  numClasses: number;
  csc: boolean;
  /** Rows shared by every class (0 when none: then each group starts at position 0). */
  prefixLength: number;
  /** [prefixLength] slots of the shared rows; never a class-specific context. */
  prefixSlots: PromptSlots;
  groups: PromptGroupPlan[];
  /** Class order → position in the concatenation of the groups' classes. */
  rowOfClass: Int32Array;
}

/**
 * Plans the shortcuts over every class's full slots ([contextLength] each) and EOT positions. Every class
 * keeps at least its EOT row of its own, so the prefix ends before the earliest EOT.
 */
export function planPrompts(slots: readonly PromptSlots[], eotIndex: readonly number[], csc: boolean): PromptPlan {
  const numClasses = slots.length;
  if (numClasses === 0 || eotIndex.length !== numClasses) throw new Error(`planPrompts: ${numClasses} slot rows for ${eotIndex.length} EOT positions`);
  const minEot = Math.min(...eotIndex);
  // csc contexts differ per class, so a context row is only "shared" without csc.
  const shared = (pos: number) => {
    const s = slots[0]![pos]!;
    if (s < 0 && csc) return false;
    return slots.every((row) => row[pos] === s);
  };
  let prefixLength = 0;
  while (prefixLength < minEot && shared(prefixLength)) prefixLength++;

  const byKey = new Map<string, number[]>();
  eotIndex.forEach((eot, c) => {
    const own = slots[c]!.subarray(prefixLength, eot + 1);
    // Context rows must sit at the same places (and be the same vectors) within a group; tokens may differ.
    const key = `${eot}:${Array.from(own, (s) => (s < 0 ? s : 't')).join(',')}`;
    const members = byKey.get(key);
    if (members) members.push(c);
    else byKey.set(key, [c]);
  });
  const groups = [...byKey.values()].map((classes): PromptGroupPlan => {
    const length = eotIndex[classes[0]!]! - prefixLength + 1;
    return { classes, length, slots: classes.map((c) => slots[c]!.slice(prefixLength, prefixLength + length)) };
  });
  const rowOfClass = new Int32Array(numClasses);
  groups.flatMap((g) => g.classes).forEach((c, row) => (rowOfClass[c] = row));
  return { numClasses, csc, prefixLength, prefixSlots: slots[0]!.slice(0, prefixLength), groups, rowOfClass };
}

/** A prompt's EOT position: the argmax of its token ids, as CLIP's encode_text finds it (EOT has the largest id). */
export function eotPosition(ids: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < ids.length; i++) if (ids[i]! > ids[best]!) best = i;
  return best;
}

/**
 * The plan of plain tokenised prompts (clip.tokenize rows: SOT, ids, EOT, zero padding; no context vectors),
 * e.g. one template over many class names: the same shortcuts (their common leading tokens run once, each
 * prompt up to its EOT), with every slot a token id.
 */
export function planTokenPrompts(tokens: readonly Int32Array[]): { plan: PromptPlan; eotIndex: number[] } {
  const eotIndex = tokens.map(eotPosition);
  return { plan: planPrompts(tokens, eotIndex, false), eotIndex };
}

/**
 * Prompt embedding rows [slots.length, W] on the host: token rows from token_embedding [vocab, W], context
 * rows from ctx (class `cls`'s own contexts under csc).
 */
export function embedSlots(
  slots: PromptSlots,
  tokenEmbedding: Float32Array,
  ctx: Float32Array,
  width: number,
  nCtx: number,
  csc: boolean,
  cls: number,
  out: Float32Array = new Float32Array(slots.length * width),
  outOffset = 0,
): Float32Array {
  slots.forEach((s, r) => {
    const from = s >= 0 ? s * width : ((csc ? cls * nCtx : 0) + slotCtxIndex(s)) * width;
    out.set((s >= 0 ? tokenEmbedding : ctx).subarray(from, from + width), outOffset + r * width);
  });
  return out;
}

/**
 * The chain rule of `embedSlots` with respect to ctx: adds each context row's gradient (rows [slots.length, W]
 * at `rowsOffset` of `rowGradients`) into ctxGradient. Token rows are constants and take none.
 */
export function accumulateCtxGradient(
  slots: PromptSlots,
  rowGradients: Float32Array,
  rowsOffset: number,
  ctxGradient: Float32Array,
  width: number,
  nCtx: number,
  csc: boolean,
  cls: number,
): void {
  slots.forEach((s, r) => {
    if (s >= 0) return;
    const to = ((csc ? cls * nCtx : 0) + slotCtxIndex(s)) * width;
    const from = rowsOffset + r * width;
    for (let k = 0; k < width; k++) ctxGradient[to + k]! += rowGradients[from + k]!;
  });
}
