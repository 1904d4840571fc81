import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createAugmenter } from '../../src/data/augmenters.js';
import { prepareSample } from '../../src/tta/view-prefetch.js';

describe('prepareSample', () => {
  it('skips an image too small for the patch grid instead of stopping the run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-small-'));
    mkdirSync(join(root, 'n01498041'));
    const pixels = Buffer.alloc(2 * 2 * 3, 128);
    await sharp(pixels, { raw: { width: 2, height: 2, channels: 3 } }).png().toFile(join(root, 'n01498041', 'tiny.png'));
    const viewMaker = createAugmenter(
      { augmenter: 'PatchAugmenter', n_aug: 1, n_patches: 9, overlap: 0, augmix: false, severity: 2 },
      32,
    );
    const sample = { position: 0, index: 0, file: 'n01498041/tiny.png', target: 0 };
    const prepared = await prepareSample(sample, {
      datasetRoot: root,
      seed: 1,
      viewMaker,
      keepImage: false,
    });
    expect(prepared.kind).toBe('skipped');
    if (prepared.kind === 'skipped') expect(prepared.error).toMatch(/2x2 image cannot be cut into a 3x3 patch grid/);
  });
});
