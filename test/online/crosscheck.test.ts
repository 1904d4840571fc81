import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CacheAdapter, type ClassCache } from '../../src/tta/methods/tda.js';
import { argmaxOf } from '../../src/tta/methods/zero.js';

/**
 * TDA and BoostAdapter's CacheAdapter against a second, independent PyTorch transcription of their official code
 * (scripts/fixtures/make_online_crosscheck.py: kdiAAA/TDA@e697fb0 tda_runner.py::run_test_tda,
 * taolinzhang/BoostAdapter@9983e1a runner.py::run_test_tda mode boostadapter), written by another hand than
 * make_online_goldens.py, over another 12-sample stream (20 of the 32 TPT views per sample drawn by
 * torch.randperm(32, seed k), or view k alone) and another flattened classifier whose samples enter the negative
 * cache. On torch's features: every sample's prediction and the caches' sizes per class equal, scores to 1e-5.
 */

interface CrossSample {
  views: number[];
  scores: number[];
  prediction: number;
  positive_sizes: Record<string, number>;
  negative_sizes: Record<string, number>;
  entered_negative: boolean;
}

interface CrossCase {
  name: string;
  method: 'tda' | 'boostadapter';
  dataset: string;
  settings: { tda_alpha: number; tda_beta: number; boostadapter_delta?: number };
  samples: CrossSample[];
  /** Scored against the golden's flattened classifier instead of the prompt's. */
  flat_text?: boolean;
}

interface CrossGolden {
  model: { logit_scale: number };
  features: { image: number[]; text: number[]; classes: number; dim: number };
  flat_text: number[];
  cases: CrossCase[];
}

/** The sets on which both codes' query is the top-10% mean of the views (BoostAdapter's infer_ori_image is false). */
const MULTI_VIEW_SETS = ['imagenet-a', 'imagenet-v2', 'imagenet-r', 'imagenet-sketch'];

const sizes = (cache: ClassCache) => Object.fromEntries([...cache.entries()].sort((a, b) => a[0] - b[0]).map(([c, entries]) => [String(c), entries.length]));

describe.each([
  ['tiny RN CLIP', 'test/fixtures/online/crosscheck-rn.json'],
  ['tiny ViT CLIP', 'test/fixtures/online/crosscheck-vit.json'],
] as const)('%s: CacheAdapter against the independent transcription', (_, file) => {
  const golden = JSON.parse(readFileSync(file, 'utf8')) as CrossGolden;
  const { dim, classes } = golden.features;

  it('exercises the rules: replacements, the negative cache entered and passed over, for both methods', () => {
    for (const method of ['tda', 'boostadapter']) {
      const all = golden.cases.filter((c) => c.method === method).flatMap((c) => c.samples);
      expect(all.length).toBeGreaterThanOrEqual(24);
      expect(all.some((s) => s.entered_negative) && all.some((s) => !s.entered_negative)).toBe(true);
    }
  });

  it.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const text = Float32Array.from(c.flat_text ? golden.flat_text : golden.features.text);
    const adapter = new CacheAdapter({
      alpha: c.settings.tda_alpha,
      beta: c.settings.tda_beta,
      ...(c.method === 'boostadapter' ? { boostDelta: c.settings.boostadapter_delta!, queryViewZero: !MULTI_VIEW_SETS.includes(c.dataset) } : {}),
    });
    c.samples.forEach((sample, k) => {
      const image = new Float32Array(sample.views.length * dim);
      sample.views.forEach((v, row) => image.set(golden.features.image.slice(v * dim, (v + 1) * dim), row * dim));
      const { scores } = adapter.step({ image, views: sample.views.length, text, classes, dim, logitScale: golden.model.logit_scale });
      let worst = 0;
      for (let i = 0; i < classes; i++) worst = Math.max(worst, Math.abs(scores[i]! - sample.scores[i]!));
      expect(worst, `sample ${k}`).toBeLessThan(1e-5);
      expect(argmaxOf(scores), `sample ${k}`).toBe(sample.prediction);
      expect(sizes(adapter.positive), `sample ${k}`).toEqual(sample.positive_sizes);
      expect(sizes(adapter.negative), `sample ${k}`).toEqual(sample.negative_sizes);
    });
  });
});
