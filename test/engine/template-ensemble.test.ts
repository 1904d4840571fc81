import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { TEMPLATE_SETS, TEMPLATE_SET_NAMES, fillTemplate, type TemplateSetName } from '../../src/data/templates/template-sets.js';
import { selectEngine, tfjsEngineInfo } from '../../src/engine/create-towers.js';
import { ensembleTextFeatures } from '../../src/engine/template-ensemble.js';
import { TfjsClipTowers } from '../../src/engine/tfjs-towers.js';
import type { ClipTowers } from '../../src/engine/towers.js';
import { createPromptSetup, type PromptSetup } from '../../src/model/prompt-setup.js';
import { planTokenPrompts } from '../../src/model/prompt-plan.js';
import { loadTokenizer, type ClipTokenizer } from '../../src/model/tokenizer.js';
import { textArchOf } from '../../src/onnx/onnx-text-tower.js';
import { OnnxTokenPrompts } from '../../src/onnx/onnx-token-prompts.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { TestTimeTuner } from '../../src/tta/engine.js';
import { MODEL_FIXTURES, TINY_CLIP, maxAbs, maxAbsDiff, readNpy } from '../model/helpers.js';

/**
 * Prompt-template ensembles against PyTorch (scripts/fixtures/make_template_goldens.py: OpenAI's
 * zeroshot_classifier on the tiny RN and ViT CLIPs, template lists read from openai/CLIP and kdiAAA/TDA): the
 * [C, E] classifier and the zero-shot logits to 1e-4 on both engines; the shortcut path equals every prompt in
 * full; chunking the classes changes nothing.
 */

const FIXTURES = new URL('../fixtures/templates/', import.meta.url).pathname;
interface TemplateGoldens {
  sources: { clip: string; tda: string };
  templates: Record<TemplateSetName, string[]>;
  classnames: string[];
  cases: { name: string; fixture: 'rn' | 'vit'; templates: TemplateSetName }[];
}
const golden = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as TemplateGoldens;
const TOLERANCE = 1e-4;

let tokenizer: ClipTokenizer;
const weightsOf: Partial<Record<'rn' | 'vit', ClipWeights>> = {};
let tfjsInfo: ReturnType<typeof tfjsEngineInfo>;
const owned: ClipTowers[] = [];

beforeAll(async () => {
  tfjsInfo = tfjsEngineInfo(await initBackend('wasm'));
  tokenizer = await loadTokenizer();
  weightsOf.rn = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
  weightsOf.vit = await loadClipWeights(join(TINY_CLIP, 'tiny-vit.fp16.pt'));
});

afterAll(async () => {
  for (const t of owned) await t.dispose();
});

function setupFor(fixture: 'rn' | 'vit', set: TemplateSetName): PromptSetup {
  return createPromptSetup(weightsOf[fixture]!, tokenizer, golden.classnames, { ctxInit: 'a photo of a', templates: TEMPLATE_SETS[set] });
}

async function towersFor(engine: 'tfjs' | 'onnxruntime', fixture: 'rn' | 'vit', set: TemplateSetName, shortcuts = true): Promise<ClipTowers> {
  const weights = weightsOf[fixture]!;
  const setup = setupFor(fixture, set);
  const towers =
    engine === 'tfjs'
      ? TfjsClipTowers.create(weights, setup, tfjsInfo, { shortcuts })
      : await (await selectEngine('onnxruntime', { threads: 1 })).create(weights, setup, { shortcuts });
  owned.push(towers);
  return towers;
}

/** exp(logit_scale) · PyTorch's image features of the fixture views · classifierᵀ → [V, C], in float64. */
function logitsOf(fixture: 'rn' | 'vit', classifier: Float32Array, scale: number): Float64Array {
  const image = readNpy(join(MODEL_FIXTURES, fixture === 'rn' ? 'image_features.npy' : 'vit.image_features.npy'));
  const [v, e] = image.shape as [number, number];
  const c = classifier.length / e;
  const out = new Float64Array(v * c);
  for (let i = 0; i < v; i++) for (let k = 0; k < c; k++) {
    let dot = 0;
    for (let j = 0; j < e; j++) dot += image.data[i * e + j]! * classifier[k * e + j]!;
    out[i * c + k] = scale * dot;
  }
  return out;
}

describe('template sets', () => {
  it('are the official lists, in their order (read from openai/CLIP and kdiAAA/TDA by the golden script)', () => {
    expect(TEMPLATE_SET_NAMES).toEqual(['clip-7', 'clip-80']);
    for (const name of TEMPLATE_SET_NAMES) expect([...TEMPLATE_SETS[name].templates]).toEqual(golden.templates[name]);
    expect(golden.sources.clip).toContain(TEMPLATE_SETS['clip-80'].source.split(' ')[0]!.split('@')[1]!);
  });

  it('fill "{}" as str.format does', () => {
    expect(fillTemplate('a {} in a video game.', "jack-o'-lantern")).toBe("a jack-o'-lantern in a video game.");
    expect(() => fillTemplate('no slot', 'x')).toThrow(/exactly one/);
  });

  it('tokenise class names with "_" as spaces, as TDA does', () => {
    const prompts = setupFor('rn', 'clip-7').templatePrompts!;
    expect(prompts.texts(0)[10]).toBe('itap of a German Shepherd Dog.');
    expect(prompts.tokens(0, 10, 11)[0]).toEqual(tokenizer.tokenize('itap of a German Shepherd Dog.'));
  });
});

describe.each(['tfjs', 'onnxruntime'] as const)('template ensemble on %s against PyTorch', (engine) => {
  it.each(golden.cases.map((c) => [c.name, c] as const))('%s: classifier and zero-shot logits to 1e-4', async (_name, c) => {
    const towers = await towersFor(engine, c.fixture, c.templates);
    const classifier = await ensembleTextFeatures(towers, towers.templatePrompts!);
    const expected = readNpy(join(FIXTURES, `${c.name}.text.npy`));
    expect(expected.shape).toEqual([golden.classnames.length, towers.embedDim]);
    expect(maxAbsDiff(classifier, expected.data)).toBeLessThan(TOLERANCE);
    const logits = readNpy(join(FIXTURES, `${c.name}.logits.npy`));
    expect(maxAbs(logits.data)).toBeGreaterThan(1);
    expect(maxAbsDiff(logitsOf(c.fixture, classifier, towers.logitScale), logits.data)).toBeLessThan(TOLERANCE);
  });

  it('the shortcut path equals every prompt in full, and chunks of classes change nothing', async () => {
    for (const fixture of ['rn', 'vit'] as const) {
      const fast = await towersFor(engine, fixture, 'clip-7');
      const plain = await towersFor(engine, fixture, 'clip-7', false);
      const prompts = fast.templatePrompts!;
      const whole = await ensembleTextFeatures(fast, prompts);
      expect(maxAbsDiff(whole, await ensembleTextFeatures(plain, prompts))).toBeLessThan(1e-6);
      expect(maxAbsDiff(whole, await ensembleTextFeatures(fast, prompts, { chunk: 5 }))).toBeLessThan(1e-6);
      const tokens = prompts.tokens(4);
      expect(maxAbsDiff(await fast.encodeTokenPrompts(tokens), await plain.encodeTokenPrompts(tokens))).toBeLessThan(1e-6);
    }
  });
});

describe('the ensemble on onnxruntime', () => {
  it('builds one graph per plan shape, not per template (calls of one shape run together)', async () => {
    const weights = weightsOf.rn!;
    const prompts = setupFor('rn', 'clip-80').templatePrompts!;
    const shapes = new Set(
      Array.from({ length: prompts.numTemplates }, (_, t) => {
        const { plan } = planTokenPrompts(prompts.tokens(t));
        return JSON.stringify([plan.prefixLength, plan.groups.map((g) => [g.classes.length, g.length])]);
      }),
    );
    const encoder = await OnnxTokenPrompts.create(weights.stateDict, textArchOf(weights.arch), { threads: 1 });
    try {
      const classifier = await ensembleTextFeatures({ embedDim: weights.arch.embedDim, encodeTokenPrompts: (t) => encoder.encode(t) }, prompts);
      expect(shapes.size).toBeLessThan(prompts.numTemplates / 4);
      expect(encoder.graphsBuilt).toBe(shapes.size);
      expect(maxAbsDiff(classifier, readNpy(join(FIXTURES, 'rn.clip-80.text.npy')).data)).toBeLessThan(TOLERANCE);
    } finally {
      await encoder.dispose();
    }
  });
});

describe('the zero-shot ensemble run (templates set, tta_steps 0)', () => {
  it.each(['tfjs', 'onnxruntime'] as const)('%s: base and TPT scores of view 0 are both the ensemble classifier\'s', async (engine) => {
    const towers = await towersFor(engine, 'rn', 'clip-7');
    const settings = { loss: 'defaultTPT' as const, lossContext: { n_aug: 2, n_patches: 0, selection_p_all: 1, selection_p_patch: 0.9, alpha_exponential_weightening: 1 }, learningRate: 5e-3 };
    expect(() => new TestTimeTuner(towers, { ...settings, ttaSteps: 1 })).toThrow(/no context to tune/);
    const tuner = new TestTimeTuner(towers, { ...settings, ttaSteps: 0 });
    const views = readNpy(join(MODEL_FIXTURES, 'views.npy')); // [6, 64, 64, 3]
    const outcome = await tuner.tuneSample({ data: views.data.slice(0, 3 * 64 * 64 * 3), count: 3, size: 64 });
    expect(Array.from(outcome.tptLogits)).toEqual(Array.from(outcome.baseLogits));
    expect(outcome.loss).toBe(0);
    const expected = readNpy(join(FIXTURES, 'rn.clip-7.logits.npy')); // [6, C]: row 0 is view 0
    const c = golden.classnames.length;
    expect(maxAbsDiff(outcome.baseLogits, expected.data.subarray(0, c))).toBeLessThan(1e-3);
  });
});
