#!/usr/bin/env node
// Times the ONNX Runtime text tower at RN50's text size (width 512, 8 heads, 12 layers, 77 tokens, E 1024) on
// random weights: 200 ImageNet-A prompts, CoOp's 'end' layout with n_ctx 4, the exact shortcut plan. Prints one
// JSON line: session creation, forward and forward+backward seconds (median of the repeats after a warm-up),
// the RSS before creating the tower (weights on the host), after creating it and after the timed calls, and the process's peak RSS. Run each configuration in its own process so the peak is its own.
// Usage: npm run build && node scripts/bench-onnx-text.mjs [threads=1] [saved|recompute] [repeats=3]
import { initBackend } from '../dist/backend.js';
import { IMAGENET_A_CLASSNAMES } from '../dist/model/imagenet-a.js';
import { PromptLearner } from '../dist/model/prompt-learner.js';
import { planPrompts } from '../dist/model/prompt-plan.js';
import { loadTokenizer } from '../dist/model/tokenizer.js';
import { OnnxTextTower } from '../dist/onnx/onnx-text-tower.js';

const threads = Number(process.argv[2] ?? 1);
const backward = process.argv[3] ?? 'saved';
const repeats = Number(process.argv[4] ?? 3);
const arch = { width: 512, heads: 8, layers: 12, contextLength: 77, embedDim: 1024, vocabSize: 49408 };

// Timing does not depend on the values; a cheap seeded generator keeps the run reproducible.
let seed = 12345;
const draw = (count, std) => {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = (seed / 4294967296 - 0.5) * 3.4 * std;
  }
  return out;
};
const w = arch.width;
const stateDict = new Map();
const put = (name, shape, std, mean = 0) => {
  const data = draw(shape.reduce((a, b) => a * b, 1), std);
  if (mean) for (let i = 0; i < data.length; i++) data[i] += mean;
  stateDict.set(name, { dtype: 'float32', shape, data });
};
put('token_embedding.weight', [arch.vocabSize, w], 0.02);
put('positional_embedding', [arch.contextLength, w], 0.01);
for (let l = 0; l < arch.layers; l++) {
  const p = `transformer.resblocks.${l}`;
  put(`${p}.ln_1.weight`, [w], 0.1, 1);
  put(`${p}.ln_1.bias`, [w], 0.02);
  put(`${p}.attn.in_proj_weight`, [3 * w, w], w ** -0.5);
  put(`${p}.attn.in_proj_bias`, [3 * w], 0.02);
  put(`${p}.attn.out_proj.weight`, [w, w], w ** -0.5 / 5);
  put(`${p}.attn.out_proj.bias`, [w], 0.02);
  put(`${p}.ln_2.weight`, [w], 0.1, 1);
  put(`${p}.ln_2.bias`, [w], 0.02);
  put(`${p}.mlp.c_fc.weight`, [4 * w, w], (2 * w) ** -0.5);
  put(`${p}.mlp.c_fc.bias`, [4 * w], 0.02);
  put(`${p}.mlp.c_proj.weight`, [w, 4 * w], w ** -0.5 / 5);
  put(`${p}.mlp.c_proj.bias`, [w], 0.02);
}
put('ln_final.weight', [w], 0.1, 1);
put('ln_final.bias', [w], 0.02);
put('text_projection', [w, arch.embedDim], w ** -0.5);

await initBackend('cpu'); // the prompt learner keeps its ctx in a tf.Variable
const tokenEmbedding = stateDict.get('token_embedding.weight').data;
// The prompt learner only needs the tower's width, context length and token rows.
const towerView = {
  width: w,
  contextLength: arch.contextLength,
  embedTokens: (ids) => {
    const out = new Float32Array(ids.length * w);
    for (let i = 0; i < ids.length; i++) out.set(tokenEmbedding.subarray(ids[i] * w, (ids[i] + 1) * w), i * w);
    return out;
  },
};
const learner = new PromptLearner(towerView, await loadTokenizer(), IMAGENET_A_CLASSNAMES, { nCtx: 4, seed: 1 });
const plan = planPrompts(learner.slots, learner.eotIndex, learner.csc);
const ctx = learner.ctx.dataSync();

const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const rssBeforeMb = rssMb();
const t0 = performance.now();
const tower = await OnnxTextTower.create(stateDict, arch, plan, { nCtx: 4, csc: false }, { threads, backward });
const createSeconds = (performance.now() - t0) / 1000;
globalThis.gc?.(); // with --expose-gc: count what the sessions hold, not garbage from building the graphs
const rssCreatedMb = rssMb();
const upstream = (f) => f.map((v, i) => Math.sin(i) * 1e-2 + v * 0);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (f) => {
  const s = performance.now();
  await f();
  return (performance.now() - s) / 1000;
};
await tower.textFeatures(ctx);
await tower.textFeaturesWithGradient(ctx, upstream);
const forward = [];
const withGradient = [];
for (let r = 0; r < repeats; r++) {
  forward.push(await time(() => tower.textFeatures(ctx)));
  withGradient.push(await time(() => tower.textFeaturesWithGradient(ctx, upstream)));
}
globalThis.gc?.();
const rssAfterMb = rssMb();
await tower.dispose();
const rows = plan.prefixLength + plan.groups.reduce((n, g) => n + g.classes.length * g.length, 0);
console.log(
  JSON.stringify({
    threads,
    backward,
    classes: plan.numClasses,
    prefix: plan.prefixLength,
    groups: plan.groups.length,
    rows,
    create_s: +createSeconds.toFixed(2),
    forward_s: +median(forward).toFixed(3),
    forward_backward_s: +median(withGradient).toFixed(3),
    forward_all_s: forward.map((x) => +x.toFixed(3)),
    forward_backward_all_s: withGradient.map((x) => +x.toFixed(3)),
    rss_before_create_mb: rssBeforeMb,
    rss_after_create_mb: rssCreatedMb,
    rss_after_calls_mb: rssAfterMb,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
