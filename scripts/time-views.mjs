#!/usr/bin/env node
// Times (wall clock and CPU of this process) the preparation of one sample's views (decode + augmenter) with the built library (run `npm run build`).
// Usage: node scripts/time-views.mjs [image.jpg] [n_aug] [repeats]
//   default image: test/fixtures/views/large.jpg (600x400 JPEG); n_aug 63 (64 views); 5 repeats after a warm-up.
import { readFileSync } from 'node:fs';
import { createAugmenter } from '../dist/data/augmenters.js';
import { decodeImage } from '../dist/data/image.js';
import { Rng } from '../dist/data/rng.js';

const image = process.argv[2] ?? new URL('../test/fixtures/views/large.jpg', import.meta.url).pathname;
const nAug = Number(process.argv[3] ?? 63);
const repeats = Number(process.argv[4] ?? 5);
const bytes = readFileSync(image);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

for (const augmix of [false, true]) {
  const augmenter = createAugmenter({ augmenter: 'AugmenterTPT', n_aug: nAug, n_patches: 0, overlap: 0, augmix, severity: 2 }, 224);
  const decodeMs = [];
  const viewsMs = [];
  const viewsCpuMs = [];
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    const img = await decodeImage(bytes);
    const t1 = performance.now();
    const cpu0 = process.cpuUsage();
    const views = augmenter.makeViews(img, Rng.forSample(r, 'timing'));
    const cpu = process.cpuUsage(cpu0);
    const t2 = performance.now();
    if (views.count !== 1 + nAug) throw new Error('wrong view count');
    if (r > 0) {
      decodeMs.push(t1 - t0);
      viewsMs.push(t2 - t1);
      viewsCpuMs.push((cpu.user + cpu.system) / 1000);
    }
  }
  const d = median(decodeMs);
  const v = median(viewsMs);
  console.log(
    `AugmenterTPT n_aug=${nAug} augmix=${augmix} (severity 2): decode ${d.toFixed(1)} ms + views ${v.toFixed(1)} ms = ${(d + v).toFixed(1)} ms per sample wall; views ${median(viewsCpuMs).toFixed(1)} ms CPU (medians of ${repeats}; load average ${(await import('node:os')).loadavg()[0].toFixed(1)})`,
  );
}
