import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOSSES, LOSS_NAMES, isLossName } from '../../src/losses/registry.js';
import type { LossContext } from '../../src/losses/types.js';
import { readNpy } from './npy.js';

/**
 * The end-to-end TPT goldens (test/fixtures/tpt/, made by scripts/fixtures/make_tpt_goldens.py) are checked
 * against the model by the engine's test; here only what needs no model: every loss is covered, every case's
 * configuration passes the loss registry's validation, and the arrays have the shapes the engine will compare.
 */
const TPT_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tpt');

interface TptCase {
  name: string;
  loss: string;
  view_count: number;
  views: string;
  tta_steps: number;
  loss_ctx: LossContext;
  deterministic: boolean;
  expected: { loss: number[]; base_logits: number[]; tpt_logits: number[]; ctx_after: { shape: number[]; values: number[] } };
}

const index = JSON.parse(readFileSync(join(TPT_FIXTURES, 'cases.json'), 'utf8')) as {
  views: { file: string; shape: number[] };
  ctx_initial: { shape: number[]; values: number[] };
  cases: TptCase[];
};

describe('TPT golden fixture', () => {
  it('covers the ten losses and a two-step case', () => {
    expect(new Set(index.cases.map((c) => c.loss))).toEqual(new Set(LOSS_NAMES));
    expect(index.cases.some((c) => c.tta_steps === 2)).toBe(true);
  });

  it('has committed views of the declared shape', () => {
    const views = readNpy(join(TPT_FIXTURES, index.views.file));
    expect(views.shape).toEqual(index.views.shape);
    expect(views.data.length).toBe(index.views.shape.reduce((a, b) => a * b, 1));
  });

  for (const c of index.cases) {
    it(`${c.name}: valid configuration, deterministic in PyTorch, complete expectations`, () => {
      if (!isLossName(c.loss)) throw new Error(`unknown loss ${c.loss}`);
      expect(LOSSES[c.loss].validate(c.loss_ctx, c.view_count)).toBeUndefined();
      expect(c.view_count).toBeLessThanOrEqual(index.views.shape[0] as number);
      expect(c.deterministic).toBe(true);
      expect(c.expected.loss).toHaveLength(c.tta_steps);
      expect(c.expected.base_logits).toHaveLength(200);
      expect(c.expected.tpt_logits).toHaveLength(200);
      expect(c.expected.ctx_after.shape).toEqual(index.ctx_initial.shape);
      // one AdamW step at lr 5e-3 moves every ctx entry by about lr; the tuned logits must differ from the base
      const moved = c.expected.ctx_after.values.map((v, i) => Math.abs(v - (index.ctx_initial.values[i] as number)));
      expect(Math.max(...moved)).toBeGreaterThan(1e-3);
      expect(c.expected.tpt_logits.some((v, i) => Math.abs(v - (c.expected.base_logits[i] as number)) > 1e-3)).toBe(true);
    });
  }
});
