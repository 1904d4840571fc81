import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createAugmenter } from '../../src/data/augmenters.js';
import { decodeImage } from '../../src/data/image.js';
import { decodeNpy } from '../../src/data/npy.js';
import { Rng } from '../../src/data/rng.js';
import { previewIdentity, previewViews } from '../../src/preview.js';

const photo = new URL('../fixtures/views/small.jpg', import.meta.url).pathname;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tpt-preview-'));
}

describe('tpt preview', () => {
  it('names samples as the engine does', () => {
    expect(previewIdentity('/data/imagenet-a/n01498041/0.000116.jpg')).toBe('n01498041/0.000116.jpg');
    expect(previewIdentity('photos/cat.jpg')).toBe('cat.jpg');
  });

  it('writes the engine\'s views as float32 [V, 3, S, S] and a show_imgs-style grid', async () => {
    const dir = tempDir();
    const config = join(dir, 'aug.json');
    // Only augmenter keys (+ seed, image_size): the rest of the run config is not needed.
    writeFileSync(config, JSON.stringify({ augmenter: 'AugmenterTPT', n_aug: 5, augmix: true, severity: 3, seed: 7, image_size: 32 }));
    const result = await previewViews({ configPath: config, imagePath: photo, gridPath: join(dir, 'g.png'), tensorsPath: join(dir, 't.npy') });
    expect(result.viewCount).toBe(6);
    const npy = decodeNpy(readFileSync(join(dir, 't.npy')));
    expect(npy.dtype).toBe('float32');
    expect(npy.shape).toEqual([6, 3, 32, 32]);

    // The same numbers as the engine: createAugmenter + Rng.forSample(seed, identity), NHWC → NCHW.
    const engine = createAugmenter({ augmenter: 'AugmenterTPT', n_aug: 5, n_patches: 0, overlap: 0, augmix: true, severity: 3 }, 32)
      .makeViews(await decodeImage(photo), Rng.forSample(7, 'small.jpg'));
    for (const [v, y, x, c] of [[0, 0, 0, 0], [3, 5, 17, 2], [5, 31, 31, 1]] as const) {
      expect(npy.data[((v * 3 + c) * 32 + y) * 32 + x]).toBe(engine.data[((v * 32 + y) * 32 + x) * 3 + c]);
    }

    const meta = await sharp(join(dir, 'g.png')).metadata();
    // 8-pixel gaps: 4 per row → 8 + 4·40 wide; view 0 alone on top, then 2 rows of 4 → 8 + 3·40 high
    expect([meta.width, meta.height]).toEqual([168, 128]);
  });

  it('takes --set overrides and reports a bad key with a hint', async () => {
    const dir = tempDir();
    const config = join(dir, 'aug.json');
    writeFileSync(config, JSON.stringify({ augmenter: 'PatchAugmenter', n_aug: 1, n_patches: 4, augmix: false, image_size: 24 }));
    const result = await previewViews({ configPath: config, imagePath: photo, sets: ['n_patches=9'] });
    expect(result.viewCount).toBe(1 + 1 + 9 * 2);
    await expect(previewViews({ configPath: config, imagePath: photo, sets: ['n_agu=3'] })).rejects.toThrow(/n_aug/);
  });

  it('reports an undecodable image by name', async () => {
    const dir = tempDir();
    const config = join(dir, 'aug.json');
    writeFileSync(config, '{}');
    writeFileSync(join(dir, 'broken.jpg'), 'not a jpeg');
    await expect(previewViews({ configPath: config, imagePath: join(dir, 'broken.jpg') })).rejects.toMatchObject({
      code: 'IMAGE_DECODE',
      message: expect.stringContaining('broken.jpg'),
    });
  });
});

describe('tpt preview command', () => {
  it('runs through the CLI and prints what it wrote', async () => {
    const { main } = await import('../../src/cli/main.js');
    const dir = tempDir();
    const config = join(dir, 'aug.json');
    writeFileSync(config, JSON.stringify({ n_aug: 3, augmix: false, image_size: 16 }));
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(['node', 'tpt', 'preview', '--config', config, '--image', photo, '--tensors', join(dir, 'v.npy'), '--set', 'seed=3']);
    } finally {
      process.stdout.write = original;
    }
    expect(code).toBe(0);
    expect(written.join('')).toMatch(/AugmenterTPT: 4 views of 16x16 .*seed 3, sample identity "small.jpg"/);
    expect(decodeNpy(readFileSync(join(dir, 'v.npy'))).shape).toEqual([4, 3, 16, 16]);
  });
});
