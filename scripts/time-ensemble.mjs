#!/usr/bin/env node
// Times the zero-shot template-ensemble classifier (config `templates`): C × templates prompts through the text
// tower, once per run, on a random-weight CLIP of a real architecture (`tpt bench`'s weights), with the built
// library (run `npm run build` first). Prints seconds and the process's peak resident memory.
// Usage: node scripts/time-ensemble.mjs [clip-7|clip-80] [classes] [backend: onnxruntime|wasm] [arch]
//   defaults: clip-7, 200 (ImageNet-A's names; more take ImageNet's), onnxruntime, RN50.
import { initBackend } from '../dist/backend.js';
import { buildBenchWeights } from '../dist/bench/bench-model.js';
import { datasetClassnames } from '../dist/data/datasets/registry.js';
import { TEMPLATE_SETS } from '../dist/data/templates/template-sets.js';
import { selectEngine } from '../dist/engine/create-towers.js';
import { ensembleTextFeatures } from '../dist/engine/template-ensemble.js';
import { createPromptSetup } from '../dist/model/prompt-setup.js';
import { loadTokenizer } from '../dist/model/tokenizer.js';

const [set = 'clip-7', classArg = '200', backend = 'onnxruntime', arch = 'RN50'] = process.argv.slice(2);
const classes = Number(classArg);
if (!(set in TEMPLATE_SETS) || !(classes >= 1) || !['onnxruntime', 'wasm'].includes(backend)) {
  console.error('usage: node scripts/time-ensemble.mjs [clip-7|clip-80] [classes] [onnxruntime|wasm] [arch]');
  process.exit(2);
}
if (backend === 'wasm') await initBackend('wasm');
const engine = await selectEngine(backend);
const weights = buildBenchWeights(arch, 0);
const classnames = datasetClassnames(classes <= 200 ? 'imagenet-a' : 'imagenet').slice(0, classes);
const setup = createPromptSetup(weights, await loadTokenizer(), classnames, { ctxInit: 'a photo of a', templates: TEMPLATE_SETS[set] });
const towers = await engine.create(weights, setup, {});
const start = performance.now();
await ensembleTextFeatures(towers, setup.templatePrompts);
const seconds = (performance.now() - start) / 1000;
await towers.dispose();
const prompts = classes * TEMPLATE_SETS[set].templates.length;
console.log(
  `${set} × ${classes} classes (${prompts} prompts), ${arch} text tower, ${engine.info.engine}/${engine.info.provider}: ` +
    `${seconds.toFixed(1)} s (${((seconds / prompts) * 1000).toFixed(1)} ms per prompt), peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
