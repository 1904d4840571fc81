#!/usr/bin/env node
// Times the ONNX Runtime image tower (src/onnx/onnx-image-tower.ts) on a random-weight CLIP of a real architecture,
// with the built library (run `npm run build`): seconds and CPU seconds per call after one warm-up call, and the
// process's peak RSS (one process per run, so the peak is this configuration's).
// Usage: node scripts/time-onnx-image.mjs [threads] [views] [arch] [repeats]
//   defaults: 1 thread, 64 views, RN50 (see src/bench/bench-model.ts for the archs), 1 timed call.
import { loadavg } from 'node:os';
import { buildBenchWeights } from '../dist/bench/bench-model.js';
import { Rng } from '../dist/data/rng.js';
import { OnnxImageTower } from '../dist/onnx/onnx-image-tower.js';

const threads = Number(process.argv[2] ?? 1);
const views = Number(process.argv[3] ?? 64);
const arch = process.argv[4] ?? 'RN50';
const repeats = Number(process.argv[5] ?? 1);

const weights = buildBenchWeights(arch, 7);
const size = weights.arch.imageResolution;
const rng = Rng.fromSeed(5);
const input = new Float32Array(views * size * size * 3);
for (let i = 0; i < input.length; i++) input[i] = rng.normal();

const t0 = performance.now();
const tower = await OnnxImageTower.create(weights.stateDict, weights.arch, { threads });
const createSeconds = (performance.now() - t0) / 1000;
await tower.encodeImages(input, views, size); // warm-up: first-run allocations and kernel choices
const wall = [];
const cpu = [];
for (let r = 0; r < repeats; r++) {
  const c0 = process.cpuUsage();
  const start = performance.now();
  await tower.encodeImages(input, views, size);
  wall.push((performance.now() - start) / 1000);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1e6);
}
await tower.dispose();
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `${arch} image tower, onnxruntime ${threads} thread(s), ${views} views of ${size} px: ${mean(wall).toFixed(2)} s per call ` +
    `(${mean(cpu).toFixed(2)} s CPU; mean of ${repeats} after a warm-up), session ${createSeconds.toFixed(1)} s, ` +
    `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB (load average ${loadavg()[0].toFixed(1)})`,
);
