import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, type TptConfig } from '../../src/config/schema.js';
import { decodeNpy } from '../../src/data/npy.js';
import { selectEngine } from '../../src/engine/create-towers.js';
import type { ClipTowers } from '../../src/engine/towers.js';
import { createPromptSetup } from '../../src/model/prompt-setup.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import type { MethodName } from '../../src/tta/methods/names.js';
import { createOnlineAlgorithm } from '../../src/tta/methods/online-methods.js';
import type { OnlineSampleTuner } from '../../src/tta/methods/online.js';
import { createSampleTuner } from '../../src/tta/methods/registry.js';
import { TDA_LOGIT_SCALE } from '../../src/tta/methods/online-settings.js';
import { argmaxOf } from '../../src/tta/methods/zero.js';
import { loadClipWeights } from '../../src/weights/load.js';

/**
 * TDA, BoostAdapter and DMN-ZS against PyTorch transcriptions of their official code
 * (scripts/fixtures/make_online_goldens.py) over a stream of 14 samples on the tiny RN and ViT CLIPs: on torch's
 * own features (the algorithms alone, every case including the negative cache's, whose text is scaled by 0.3)
 * and end to end through the towers of both engines (the unscaled cases): every sample's scores to 1e-4 and
 * the same prediction. TDA and BoostAdapter score 100·cos (written out in their code) where the tiny CLIPs' own
 * logit scale is 14.3: end to end their tolerance is 1e-4 in the model's logit units, i.e. 1e-4 · 100/14.3 on
 * their scores, since the towers' float32 features differ from torch's by ~1e-6 and 100 multiplies that.
 */

interface StreamCase {
  name: string;
  method: MethodName;
  settings: Partial<TptConfig>;
  views: number;
  text_scale?: number;
  samples: { scores: number[]; prediction: number; margin: number; negative?: boolean }[];
}

interface StreamGolden {
  model: { weights: string; coop: string; classnames: string; n_ctx: number; logit_scale: number };
  views: { file: string; count: number };
  stream: number[][];
  features: { image: number[]; text: number[]; views: number; classes: number; dim: number };
  cases: StreamCase[];
}

const GOLDEN_FILES = [
  ['tiny RN CLIP', 'test/fixtures/online/rn-stream.json'],
  ['tiny ViT CLIP', 'test/fixtures/online/vit-stream.json'],
] as const;
const ENGINES = ['wasm', 'onnxruntime'] as const;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function caseConfig(c: StreamCase): TptConfig {
  return { ...defaultConfig(), method: c.method, ...c.settings };
}

/** Rows `rows` of a row-major [N, width] array. */
function gather(data: ArrayLike<number>, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    for (let e = 0; e < width; e++) out[i * width + e] = data[r * width + e]!;
  });
  return out;
}

describe.each(GOLDEN_FILES)('%s: the online methods on torch\'s features', (_, file) => {
  const golden = JSON.parse(readFileSync(file, 'utf8')) as StreamGolden;
  const { dim, classes } = golden.features;
  const image = Float32Array.from(golden.features.image);

  it('the stream exercises both caches, replacement and the negative cache', () => {
    expect(golden.stream.length).toBeGreaterThanOrEqual(12);
    expect(golden.cases.some((c) => c.samples.filter((s) => s.negative).length >= 3)).toBe(true);
  });

  it.each(golden.cases.map((c) => [c.name, c] as const))('%s: every sample\'s scores and prediction', (_, c) => {
    const text = Float32Array.from(golden.features.text, (t) => Math.fround(t * (c.text_scale ?? 1)));
    const algorithm = createOnlineAlgorithm(caseConfig(c));
    golden.stream.forEach((rows, k) => {
      const views = rows.slice(0, c.views);
      const { scores } = algorithm.step({ image: gather(image, views, dim), views: views.length, text, classes, dim, logitScale: golden.model.logit_scale });
      const expected = c.samples[k]!;
      expect(maxAbsDiff(scores, expected.scores), `${c.name} sample ${k}`).toBeLessThan(1e-4);
      expect(argmaxOf(scores), `${c.name} sample ${k}`).toBe(expected.prediction);
    });
  });

  it.each(golden.cases.map((c) => [c.name, c] as const))('%s: a state replayed from its updates scores the rest of the stream identically', (_, c) => {
    const text = Float32Array.from(golden.features.text, (t) => Math.fround(t * (c.text_scale ?? 1)));
    const inputs = (k: number) => {
      const views = golden.stream[k]!.slice(0, c.views);
      return { image: gather(image, views, dim), views: views.length, text, classes, dim, logitScale: golden.model.logit_scale };
    };
    const live = createOnlineAlgorithm(caseConfig(c));
    const updates = [];
    const liveScores = [];
    for (let k = 0; k < golden.stream.length; k++) {
      const r = live.step(inputs(k));
      updates.push(JSON.parse(JSON.stringify(r.update)) as unknown);
      liveScores.push(r.scores);
    }
    const resumed = createOnlineAlgorithm(caseConfig(c));
    for (const u of updates.slice(0, 6)) resumed.replay(u);
    for (let k = 6; k < golden.stream.length; k++) expect(Array.from(resumed.step(inputs(k)).scores)).toEqual(Array.from(liveScores[k]!));
  });
});

const MATRIX = GOLDEN_FILES.flatMap(([model, file]) => ENGINES.map((engine) => [model, engine, file] as const));

describe.each(MATRIX)('%s on %s: the online methods end to end', (_, engine, file) => {
  const golden = JSON.parse(readFileSync(file, 'utf8')) as StreamGolden;
  let towers: ClipTowers;
  let views: Float32Array;
  let size: number;

  beforeAll(async () => {
    const selected = await selectEngine(engine, { threads: 2 });
    const weights = await loadClipWeights(golden.model.weights, { coop: golden.model.coop });
    const classnames = JSON.parse(readFileSync(golden.model.classnames, 'utf8')) as string[];
    const setup = createPromptSetup(weights, await loadTokenizer(), classnames, { nCtx: golden.model.n_ctx, ctxInit: '', classTokenPosition: 'end' });
    towers = await selected.create(weights, setup);
    const npy = decodeNpy(readFileSync(golden.views.file));
    const [n, , s] = npy.shape as [number, number, number, number];
    size = s;
    // NCHW → NHWC, the towers' layout
    views = new Float32Array(npy.data.length);
    for (let i = 0; i < n; i++) for (let ch = 0; ch < 3; ch++) for (let p = 0; p < s * s; p++) views[(i * s * s + p) * 3 + ch] = npy.data[(i * 3 + ch) * s * s + p]!;
  });

  afterAll(async () => {
    await towers?.dispose();
  });

  it.each(golden.cases.filter((c) => c.text_scale === undefined).map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const tolerance = c.method === 'dmn-zs' ? 1e-4 : (1e-4 * TDA_LOGIT_SCALE) / golden.model.logit_scale;
    const tuner = createSampleTuner(caseConfig(c), towers) as OnlineSampleTuner;
    await tuner.prepare();
    for (let k = 0; k < golden.stream.length; k++) {
      const rows = golden.stream[k]!.slice(0, c.views);
      const outcome = await tuner.tuneSample({ data: gather(views, rows, size * size * 3), count: rows.length, size });
      const expected = c.samples[k]!;
      expect(maxAbsDiff(outcome.tptLogits, expected.scores), `${c.name} sample ${k}`).toBeLessThan(tolerance);
      expect(argmaxOf(outcome.tptLogits), `${c.name} sample ${k}`).toBe(expected.prediction);
    }
  });
});
