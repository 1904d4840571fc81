import { describe, expect, it } from 'vitest';
import { accumulateCtxGradient, ctxSlot, embedSlots, planPrompts, planTokenPrompts } from '../../src/model/prompt-plan.js';

// Slots of 'end' prompts: SOT, 2 context vectors, name tokens, '.', EOT, padding.
const SOT = 9;
const EOT = 8;
const end = (name: number[]) => Int32Array.from([SOT, ctxSlot(0), ctxSlot(1), ...name, 5, EOT, 0, 0, 0, 0].slice(0, 10));

describe('planPrompts', () => {
  it('shares SOT + context for end prompts and groups classes by where they end', () => {
    const slots = [end([1]), end([2, 3]), end([4])];
    const plan = planPrompts(slots, [5, 6, 5], false);
    expect(plan.prefixLength).toBe(3);
    expect(Array.from(plan.prefixSlots)).toEqual([SOT, ctxSlot(0), ctxSlot(1)]);
    expect(plan.groups.map((g) => [g.classes, g.length])).toEqual([
      [[0, 2], 3],
      [[1], 4],
    ]);
    expect(Array.from(plan.groups[1]!.slots[0]!)).toEqual([2, 3, 5, EOT]);
    expect(Array.from(plan.rowOfClass)).toEqual([0, 2, 1]);
  });

  it('plans plain token prompts (a template over class names): their common leading tokens, each up to its EOT', () => {
    // "a {} in a video game." over names of 1 and 2 tokens: SOT a | name in a video game . EOT, as ids.
    const row = (ids: number[]) => Int32Array.from([...ids, 0, 0, 0, 0].slice(0, 10));
    const tokens = [row([SOT, 1, 2, 6, 7, 5, EOT + 90]), row([SOT, 1, 3, 4, 6, 7, 5, EOT + 90])];
    const { plan, eotIndex } = planTokenPrompts(tokens);
    expect(eotIndex).toEqual([6, 7]);
    expect(plan.prefixLength).toBe(2);
    expect(Array.from(plan.prefixSlots)).toEqual([SOT, 1]);
    expect(plan.groups.map((g) => [g.classes, g.length, Array.from(g.slots[0]!)])).toEqual([
      [[0], 5, [2, 6, 7, 5, EOT + 90]],
      [[1], 6, [3, 4, 6, 7, 5, EOT + 90]],
    ]);
  });

  it('shares only the SOT under csc, whose contexts differ per class', () => {
    const slots = [end([1]), end([4])];
    const plan = planPrompts(slots, [5, 5], true);
    expect(plan.prefixLength).toBe(1);
    expect(plan.groups).toHaveLength(1);
  });

  it('embeds rows and sends their gradients back to the right context vectors', () => {
    const width = 2;
    const tokenEmbedding = Float32Array.from({ length: 10 * width }, (_, i) => i);
    const ctx = Float32Array.from([100, 101, 102, 103, 200, 201, 202, 203]); // csc: [2 classes, 2, W]
    const slots = Int32Array.from([3, ctxSlot(1), ctxSlot(0)]);
    expect(Array.from(embedSlots(slots, tokenEmbedding, ctx, width, 2, true, 1))).toEqual([6, 7, 202, 203, 200, 201]);
    const grad = new Float32Array(8);
    accumulateCtxGradient(slots, Float32Array.from([1, 1, 2, 3, 4, 5]), 0, grad, width, 2, true, 1);
    accumulateCtxGradient(slots, Float32Array.from([1, 1, 1, 1, 1, 1]), 0, grad, width, 2, false, 0);
    expect(Array.from(grad)).toEqual([1, 1, 1, 1, 4, 5, 2, 3]);
  });
});
