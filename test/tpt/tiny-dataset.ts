import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../../src/config/load.js';
import type { TptConfig } from '../../src/config/schema.js';
import { IMAGENET_A_WNIDS } from '../../src/data/datasets/imagenet-a.js';

/**
 * A tiny ImageNet-A-shaped dataset for end-to-end runs: a few of the real class folders (so labels are the
 * real ones, with allow_partial_dataset), small seeded-noise images of mixed sizes, and optionally one file
 * that is not an image at all.
 */
export const TINY_CLIP = 'test/fixtures/tiny-clip/tiny-rn.jit.pt';
export const TINY_COOP = 'test/fixtures/tiny-clip/coop-tiny.pth.tar';
export const TINY_VIT_CLIP = 'test/fixtures/tiny-clip/tiny-vit.jit.pt';
export const TINY_VIT_COOP = 'test/fixtures/tiny-clip/coop-tiny-vit.pth.tar';

function noiseImage(width: number, height: number, seed: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  let state = seed * 2654435761 + 12345;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    // Smooth-ish content: a gradient plus noise, so crops differ but are not pure static.
    const pixel = Math.floor(i / 3);
    const x = pixel % width;
    const y = Math.floor(pixel / width);
    data[i] = ((x * (3 + (i % 3)) + y * 2 + seed * 40) & 0xff) ^ (state >>> 27);
  }
  return data;
}

export async function writeTinyDataset(options: { classes?: number; perClass?: number; corrupt?: boolean } = {}): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'tpt-tiny-imagenet-a-'));
  const classes = options.classes ?? 3;
  const perClass = options.perClass ?? 2;
  let seed = 1;
  for (let c = 0; c < classes; c++) {
    const dir = join(root, IMAGENET_A_WNIDS[c * 37]!);
    mkdirSync(dir);
    for (let k = 0; k < perClass; k++) {
      const width = 64 + ((seed * 13) % 40);
      const height = 64 + ((seed * 7) % 30);
      const png = await sharp(noiseImage(width, height, seed), { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
      writeFileSync(join(dir, `img_${k}.jpg`), png);
      seed += 1;
    }
  }
  if (options.corrupt) writeFileSync(join(root, IMAGENET_A_WNIDS[0]!, 'broken.jpg'), 'this is not a JPEG');
  return root;
}

/** A config for the tiny CLIP on a tiny dataset: 8 views (n_aug 7), no AugMix, wasm, tuned in this thread. */
export function tinyRunConfig(datasetRoot: string, sets: string[] = []): TptConfig {
  const outDir = mkdtempSync(join(tmpdir(), 'tpt-tiny-runs-'));
  return loadConfig(undefined, [
    `imagenet_a_path=${JSON.stringify(datasetRoot)}`,
    `out_dir=${JSON.stringify(outDir)}`,
    `clip_weights=${JSON.stringify(TINY_CLIP)}`,
    `coop_weight_path=${JSON.stringify(TINY_COOP)}`,
    'allow_partial_dataset=true',
    'image_size=64',
    'n_aug=7',
    'augmix=false',
    'selection_p_all=0.25',
    'backend="wasm"',
    'save_imgs=false',
    'num_workers=2',
    'workers=1',
    ...sets,
  ]);
}
