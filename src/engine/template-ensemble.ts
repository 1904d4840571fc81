import { planTokenPrompts } from '../model/prompt-plan.js';
import type { TemplatePrompts } from '../model/template-prompts.js';
import type { ClipTowers } from './towers.js';

/**
 * Prompts per text-tower call. A call is one template over a run of classes (their common leading tokens run
 * once); 1000 classes bound one call's activations to about what a 1000-class CoOp forward pass holds.
 */
export const DEFAULT_ENSEMBLE_CHUNK = 1000;

/**
 * The zero-shot classifier of a prompt-template ensemble, [C, E]: OpenAI's `zeroshot_classifier`
 * (openai/CLIP@d05afc4, notebooks/Prompt_Engineering_for_ImageNet.ipynb; the same arithmetic as
 * kdiAAA/TDA@e697fb0 utils.py::clip_classifier): per class, every template's text features normalised,
 * their mean over the templates, normalised again. The tokens are CLIP's own tokenisation of the whole text
 * (no learnable context). It does not depend on the sample: a method computes it once per run, on either
 * engine (only the `ClipTowers` interface is used). Cost: C × templates prompts, one template and at most
 * `chunk` classes per call, so memory stays bounded (80 × 1000 prompts on ImageNet).
 *
 * The sum over templates is kept in float64 and the mean normalised in float64 (PyTorch's float32 mean
 * differs from it by rounding only, whatever the order of the templates).
 */
export async function ensembleTextFeatures(
  towers: Pick<ClipTowers, 'embedDim' | 'encodeTokenPrompts'>,
  prompts: TemplatePrompts,
  options: { chunk?: number } = {},
): Promise<Float32Array> {
  const e = towers.embedDim;
  const c = prompts.numClasses;
  const chunk = Math.max(1, options.chunk ?? DEFAULT_ENSEMBLE_CHUNK);
  // One text-tower call per template and chunk of classes, taken in the order of their plans' shapes: calls of
  // one shape then follow each other, so an engine whose graphs are built per shape (onnxruntime) builds one
  // graph per shape, not per template (8 shapes among CLIP's 80 templates over ImageNet's or ImageNet-A's names).
  const calls: { t: number; from: number; to: number; shape: string }[] = [];
  for (let t = 0; t < prompts.numTemplates; t++) {
    for (let from = 0; from < c; from += chunk) {
      const to = Math.min(c, from + chunk);
      calls.push({ t, from, to, shape: planShape(prompts.tokens(t, from, to)) });
    }
  }
  calls.sort((a, b) => (a.shape < b.shape ? -1 : a.shape > b.shape ? 1 : a.t - b.t || a.from - b.from));
  const sum = new Float64Array(c * e);
  for (const { t, from, to } of calls) {
    const features = await towers.encodeTokenPrompts(prompts.tokens(t, from, to)); // [to − from, E], each row unit length
    if (features.length !== (to - from) * e) throw new Error(`encodeTokenPrompts returned ${features.length} values for ${to - from} prompts of ${e}`);
    const offset = from * e;
    for (let i = 0; i < features.length; i++) sum[offset + i]! += features[i]!;
  }
  const classifier = new Float32Array(c * e);
  const templates = prompts.numTemplates;
  for (let k = 0; k < c; k++) {
    let squares = 0;
    for (let j = 0; j < e; j++) {
      const mean = sum[k * e + j]! / templates;
      sum[k * e + j] = mean;
      squares += mean * mean;
    }
    const norm = Math.sqrt(squares);
    for (let j = 0; j < e; j++) classifier[k * e + j] = sum[k * e + j]! / norm;
  }
  return classifier;
}

/** The shape of the prompts' plan (shared prefix, and each group's prompt count and length): what a graph is built for. */
function planShape(tokens: readonly Int32Array[]): string {
  const { plan } = planTokenPrompts(tokens);
  return JSON.stringify([plan.prefixLength, plan.groups.map((g) => [g.classes.length, g.length])]);
}

/**
 * The run's zero-shot text classifier [C, E]: the config's template ensemble when the towers carry one
 * (`templates`), else the text features at the initial context (CoOp's or ctx_init's prompt). Methods that do
 * not tune a prompt (and TPT's base scores) call this once per run.
 */
export function zeroShotTextFeatures(towers: ClipTowers): Promise<Float32Array> {
  return towers.templatePrompts ? ensembleTextFeatures(towers, towers.templatePrompts) : towers.textFeatures(towers.initialCtx);
}
