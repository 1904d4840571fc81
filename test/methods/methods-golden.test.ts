import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, type TptConfig } from '../../src/config/schema.js';
import { decodeNpy } from '../../src/data/npy.js';
import { selectEngine } from '../../src/engine/create-towers.js';
import type { ClipTowers } from '../../src/engine/towers.js';
import { createPromptSetup } from '../../src/model/prompt-setup.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import type { FeatureInputs } from '../../src/tta/methods/feature-tuner.js';
import { mtaBandwidths, mtaScores } from '../../src/tta/methods/mta.js';
import { METHOD_SPECS, type MethodName } from '../../src/tta/methods/names.js';
import { createSampleTuner } from '../../src/tta/methods/registry.js';
import { reliabilityWeights } from '../../src/tta/methods/rtpt.js';
import { argmaxOf, zeroScores } from '../../src/tta/methods/zero.js';
import { loadClipWeights } from '../../src/weights/load.js';

/**
 * C-TPT, R-TPT, Zero and MTA against PyTorch transcriptions of their official code
 * (scripts/fixtures/make_method_goldens.py, on the tiny RN and ViT CLIPs with CoOp's ctx and the TPT goldens'
 * views). End to end on both engines: final scores to 2e-3 for the methods that tune the prompt, 1e-4 for the
 * no-gradient ones, the same prediction, base logits to 2e-3. The no-gradient algorithms and R-TPT's weights are
 * also checked on torch's own features (1e-5), which isolates them from the towers' float32 differences.
 */

interface MethodCase {
  name: string;
  method: MethodName;
  settings: Partial<TptConfig>;
  base_logits: number[];
  scores: number[];
  prediction: number;
  loss?: number[];
  weights?: number[];
  bandwidths?: number[];
}

interface MethodGolden {
  model: { weights: string; coop: string; classnames: string; n_ctx: number; logit_scale: number };
  views: { file: string; count: number };
  learning_rate: number;
  selection_p_all: number;
  features: { image: number[]; text: number[]; views: number; classes: number; dim: number };
  cases: MethodCase[];
}

const GOLDEN_FILES = [
  ['tiny RN CLIP', 'test/fixtures/methods/rn-cases.json'],
  ['tiny ViT CLIP', 'test/fixtures/methods/vit-cases.json'],
] as const;
const ENGINES = ['wasm', 'onnxruntime'] as const;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function nchwToNhwc(data: Float32Array, n: number, s: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let p = 0; p < s * s; p++) out[(i * s * s + p) * 3 + c] = data[(i * 3 + c) * s * s + p]!;
  return out;
}

function caseConfig(golden: MethodGolden, c: MethodCase): TptConfig {
  return { ...defaultConfig(), method: c.method, learning_rate: golden.learning_rate, selection_p_all: golden.selection_p_all, ...c.settings };
}

function torchFeatures(golden: MethodGolden): FeatureInputs {
  const f = golden.features;
  return { image: Float32Array.from(f.image), views: f.views, text: Float32Array.from(f.text), classes: f.classes, dim: f.dim, logitScale: golden.model.logit_scale };
}

describe.each(GOLDEN_FILES)('%s: the methods on torch\'s features', (_, file) => {
  const golden = JSON.parse(readFileSync(file, 'utf8')) as MethodGolden;
  const features = torchFeatures(golden);

  it.each(golden.cases.filter((c) => c.method === 'zero').map((c) => [c.name, c] as const))('%s: the vote counts', (_, c) => {
    const scores = zeroScores(features, c.settings.zero_gamma!);
    expect(maxAbsDiff(scores, c.scores)).toBeLessThan(1e-5);
    expect(argmaxOf(scores)).toBe(c.prediction);
  });

  it.each(golden.cases.filter((c) => c.method === 'mta').map((c) => [c.name, c] as const))('%s: bandwidths and the mode\'s scores', (_, c) => {
    expect(maxAbsDiff(mtaBandwidths(features.image, features.views, features.dim), c.bandwidths!)).toBeLessThan(1e-5);
    const scores = mtaScores(features, c.settings.mta_lambda_q!, c.settings.mta_lambda_y!);
    expect(maxAbsDiff(scores, c.scores)).toBeLessThan(1e-4);
    expect(argmaxOf(scores)).toBe(c.prediction);
  });

  it.each(golden.cases.filter((c) => c.method === 'r-tpt').map((c) => [c.name, c] as const))('%s: the reliability weights', (_, c) => {
    const weights = reliabilityWeights(features.image, features.views, features.dim, c.settings.rtpt_top_k!, c.settings.rtpt_temperature!);
    expect(maxAbsDiff(weights, c.weights!)).toBeLessThan(1e-5);
  });
});

const MATRIX = GOLDEN_FILES.flatMap(([model, file]) => ENGINES.map((engine) => [model, engine, file] as const));

describe.each(MATRIX)('%s on %s: each method end to end', (_, engine, file) => {
  const golden = JSON.parse(readFileSync(file, 'utf8')) as MethodGolden;
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
    views = nchwToNhwc(npy.data, n, s).subarray(0, golden.views.count * s * s * 3);
  });

  afterAll(async () => {
    await towers?.dispose();
  });

  it.each(golden.cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const tuner = createSampleTuner(caseConfig(golden, c), towers);
    await tuner.prepare();
    const tensorsBefore = tf.memory().numTensors;
    const outcome = await tuner.tuneSample({ data: views, count: golden.views.count, size });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const tolerance = METHOD_SPECS[c.method].textGradient ? 2e-3 : 1e-4;
    const scoreDiff = maxAbsDiff(outcome.tptLogits, c.scores);
    if (process.env.TPT_GOLDEN_REPORT) process.stdout.write(`${file} ${engine} ${c.name}: |Δscores| ${scoreDiff.toExponential(2)}\n`);
    expect(maxAbsDiff(outcome.baseLogits, c.base_logits)).toBeLessThan(2e-3);
    expect(scoreDiff).toBeLessThan(tolerance);
    expect(argmaxOf(outcome.tptLogits)).toBe(c.prediction);
    if (c.loss !== undefined) expect(Math.abs(outcome.loss - c.loss.at(-1)!)).toBeLessThan(2e-3);
  });
});
