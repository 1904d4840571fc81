import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OnnxImageTower } from '../../src/onnx/onnx-image-tower.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { MODEL_FIXTURES, TINY_CLIP, readNpy } from '../model/helpers.js';
import { MB, settledRss } from './settled-rss.js';

/**
 * The ONNX image tower's memory, measured as the process's RSS. A file of its own (vitest runs each file in a
 * fresh fork): memory freed by a larger test earlier in the process would be reused by the allocator and hide
 * what new sessions take.
 */

const views = readNpy(join(MODEL_FIXTURES, 'views.npy')); // [N, 64, 64, 3]
let tiny: ClipWeights;

beforeAll(async () => {
  tiny = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
});

describe('ONNX image tower: memory', () => {
  it('20 calls of the tiny tower keep the RSS flat, and disposed sessions do not accumulate', async () => {
    const [count, size] = views.shape as [number, number];
    const tower = await OnnxImageTower.create(tiny.stateDict, tiny.arch, { threads: 1 });
    for (let i = 0; i < 3; i++) await tower.encodeImages(views.data, count, size); // warm the arena
    const before = settledRss();
    for (let i = 0; i < 20; i++) await tower.encodeImages(views.data, count, size);
    const afterCalls = settledRss();
    await tower.dispose();
    expect((afterCalls - before) / MB).toBeLessThan(8);

    // dispose() must free a session's native memory at once, not whenever its wrapper is collected: a first
    // batch of live sessions grows the process by what they hold (weights, prepacked kernels, arena); once
    // disposed (their wrappers still referenced), a second batch reuses that memory instead of growing again.
    const newSession = async () => {
      const t = await OnnxImageTower.create(tiny.stateDict, tiny.arch, { threads: 1 });
      await t.encodeImages(views.data, count, size);
      return t;
    };
    for (let i = 0; i < 5; i++) await (await newSession()).dispose(); // ORT's one-time state
    const batch = async () => {
      const start = settledRss();
      const sessions: OnnxImageTower[] = [];
      for (let i = 0; i < 30; i++) sessions.push(await newSession());
      return { sessions, growth: settledRss() - start };
    };
    const first = await batch();
    for (const t of first.sessions) await t.dispose();
    const second = await batch();
    for (const t of second.sessions) await t.dispose();
    expect(first.growth / MB).toBeGreaterThan(30); // here about 75 MB: the measurement sees sessions
    expect(second.growth).toBeLessThan(first.growth / 3);
    expect(first.sessions.length).toBe(30); // (keeps the first batch's wrappers alive until here)
  });
});
