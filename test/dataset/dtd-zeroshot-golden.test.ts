import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../../src/data/npy.js';
import { datasetClassnames } from '../../src/data/datasets/registry.js';
import { selectEngine } from '../../src/engine/create-towers.js';
import type { ClipTowers } from '../../src/engine/towers.js';
import { createPromptSetup } from '../../src/model/prompt-setup.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { TestTimeTuner } from '../../src/tta/engine.js';
import { loadClipWeights } from '../../src/weights/load.js';

/**
 * Zero-shot over a cross-dataset set's real class list against PyTorch (scripts/fixtures/make_dataset_goldens.py):
 * the tiny RN CLIP, TPT's prompt "a photo of a {c}." over DTD's 47 names, on both engines (tfjs on wasm, the
 * reference, and ONNX Runtime). The names the run uses are the registry's; the golden's came from TPT's file.
 */

const FIXTURES = 'test/fixtures/datasets';
const TOLERANCE = 1e-3;

interface Golden {
  weights: string;
  views: string;
  n_ctx: number;
  ctx_init: string;
  class_token_position: 'end';
  classnames: string[];
  classnames_source: string;
  logit_scale: number;
}

const golden = JSON.parse(readFileSync(`${FIXTURES}/dtd-zeroshot.json`, 'utf8')) as Golden;

function npy(file: string): { data: Float32Array; shape: number[] } {
  const array = decodeNpy(readFileSync(`${FIXTURES}/${file}`));
  if (array.dtype !== 'float32') throw new Error(`${file} must be float32`);
  return { data: array.data as Float32Array, shape: [...array.shape] };
}

/** [N, 3, S, S] (PyTorch) → [N, S, S, 3] (the towers' NHWC). */
function nchwToNhwc(data: Float32Array, n: number, s: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let p = 0; p < s * s; p++) out[(i * s * s + p) * 3 + c] = data[(i * 3 + c) * s * s + p]!;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

it("the golden's class names are the registry's DTD list (TPT's dtd_classes), 47 of them", () => {
  expect(golden.classnames).toEqual([...datasetClassnames('dtd')]);
  expect(golden.classnames).toHaveLength(47);
  expect(golden.classnames_source).toContain('63ecbace79694205d7884e63fdc3137a200f0b0e');
});

describe.each(['wasm', 'onnxruntime'] as const)('DTD zero-shot on the tiny CLIP, %s', (engine) => {
  let towers: ClipTowers;
  let views: Float32Array;
  let count: number;
  let size: number;

  beforeAll(async () => {
    const selected = await selectEngine(engine, { threads: 2 });
    const weights = await loadClipWeights(golden.weights);
    const setup = createPromptSetup(weights, await loadTokenizer(), datasetClassnames('dtd'), {
      nCtx: golden.n_ctx,
      ctxInit: golden.ctx_init,
      classTokenPosition: golden.class_token_position,
    });
    towers = await selected.create(weights, setup);
    expect(towers.info.engine).toBe(engine === 'wasm' ? 'tfjs' : 'onnxruntime');
    const v = npy(golden.views);
    [count, , size] = v.shape as [number, number, number, number];
    views = nchwToNhwc(v.data, count, size);
  });

  afterAll(async () => {
    await towers?.dispose();
  });

  it('text features and logits of every view match PyTorch to 1e-3', async () => {
    const text = await towers.textFeatures(towers.initialCtx);
    expect(maxAbsDiff(text, npy('dtd-zeroshot.text.npy').data)).toBeLessThan(TOLERANCE);
    const image = await towers.encodeImages(views, count, size);
    const e = towers.embedDim;
    const c = towers.numClasses;
    expect(c).toBe(47);
    const logits = new Float32Array(count * c);
    for (let v = 0; v < count; v++) {
      for (let k = 0; k < c; k++) {
        let dot = 0;
        for (let i = 0; i < e; i++) dot += image[v * e + i]! * text[k * e + i]!;
        logits[v * c + k] = towers.logitScale * dot;
      }
    }
    expect(towers.logitScale).toBeCloseTo(golden.logit_scale, 4);
    const worst = maxAbsDiff(logits, npy('dtd-zeroshot.logits.npy').data);
    expect(worst).toBeLessThan(TOLERANCE);
    if (process.env.TPT_GOLDEN_REPORT) process.stdout.write(`DTD zero-shot ${engine}: |Δtext| ${maxAbsDiff(text, npy('dtd-zeroshot.text.npy').data).toExponential(2)} |Δlogits| ${worst.toExponential(2)}\n`);
  });

  it('a zero-shot run (tta_steps 0) scores view 0 as PyTorch does', async () => {
    const tuner = new TestTimeTuner(towers, {
      loss: 'defaultTPT',
      lossContext: { n_aug: 0, n_patches: 0, selection_p_all: 1, selection_p_patch: 0.9, alpha_exponential_weightening: 1 },
      learningRate: 0.005,
      ttaSteps: 0,
    });
    await tuner.baseTextFeatures();
    const outcome = await tuner.tuneSample({ data: views.subarray(0, size * size * 3), count: 1, size });
    const expected = npy('dtd-zeroshot.logits.npy').data.subarray(0, 47);
    expect(maxAbsDiff(outcome.baseLogits, expected)).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(outcome.tptLogits, expected)).toBeLessThan(TOLERANCE);
  });
});
