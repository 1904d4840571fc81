import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { selectEngine } from '../../src/engine/create-towers.js';
import { classifyImages, ZeroShotClassifier, type ClassifyResult } from '../../src/classify.js';
import { main } from '../../src/cli/main.js';
import { IMAGENET_A_CLASSNAMES } from '../../src/data/datasets/imagenet-a.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { convertClipCheckpoint } from '../../src/weights/convert.js';
import { loadClipWeights } from '../../src/weights/load.js';

const TINY = new URL('../fixtures/tiny-clip/', import.meta.url).pathname;
const JIT = join(TINY, 'tiny-rn.jit.pt');
const COOP = join(TINY, 'coop-tiny.pth.tar');

let dir: string;
let folder: string;
let images: string[];

/** A deterministic, non-square RGB image with some structure. */
async function writeImage(path: string, width: number, height: number, seed: number): Promise<void> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 3 + seed * 40) & 255;
      data[i + 1] = (y * 5 + seed * 17) & 255;
      data[i + 2] = ((x ^ y) * (seed + 1)) & 255;
    }
  }
  await sharp(data, { raw: { width, height, channels: 3 } }).png().toFile(path);
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'tpt-classify-'));
  images = [join(dir, 'wide.png'), join(dir, 'tall.png')];
  await writeImage(images[0]!, 96, 70, 1);
  await writeImage(images[1]!, 50, 90, 2);
  folder = join(dir, 'converted');
  await convertClipCheckpoint({ clip: JIT, coop: COOP, out: folder });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tpt classify', () => {
  it('gives the same logits from the TorchScript file as from its converted folder', async () => {
    const fromFile = await classifyImages(images, { weights: JIT, coop: COOP, backend: 'wasm' });
    const fromFolder = await classifyImages(images, { weights: folder, backend: 'wasm' });
    expect(fromFolder.map((r) => r.file)).toEqual(images);
    for (let i = 0; i < images.length; i++) {
      const a = fromFile[i]!.logits;
      const b = fromFolder[i]!.logits;
      expect(a).toHaveLength(200);
      expect(Math.max(...a.map((v, k) => Math.abs(v - b[k]!)))).toBeLessThan(1e-5);
      expect(fromFolder[i]!.top.map((p) => p.index)).toEqual(fromFile[i]!.top.map((p) => p.index));
    }
    // Without CoOp the prompt is "a photo of a <class>.", which scores differently.
    const zeroShot = await classifyImages(images, { weights: JIT, backend: 'wasm' });
    expect(zeroShot[0]!.logits).not.toEqual(fromFile[0]!.logits);
  });

  it('classifies with a ViT checkpoint: the TorchScript file, its fp16 state_dict and its converted folder agree', async () => {
    const vitFolder = join(dir, 'converted-vit');
    await convertClipCheckpoint({ clip: join(TINY, 'tiny-vit.jit.pt'), coop: join(TINY, 'coop-tiny-vit.pth.tar'), out: vitFolder });
    const fromJit = await classifyImages(images, { weights: join(TINY, 'tiny-vit.jit.pt'), coop: join(TINY, 'coop-tiny-vit.pth.tar') });
    const fromState = await classifyImages(images, { weights: join(TINY, 'tiny-vit.fp16.pt'), coop: join(TINY, 'coop-tiny-vit.pth.tar') });
    const fromFolder = await classifyImages(images, { weights: vitFolder });
    for (let i = 0; i < images.length; i++) {
      expect(fromJit[i]!.logits).toHaveLength(200);
      expect(fromState[i]!.logits).toEqual(fromJit[i]!.logits);
      expect(fromFolder[i]!.logits).toEqual(fromJit[i]!.logits);
    }
    // a different image tower over the same text side: other logits than the RN's
    const rn = await classifyImages(images, { weights: JIT, coop: COOP });
    expect(fromJit[0]!.logits).not.toEqual(rn[0]!.logits);
  });

  it('--json prints one array of {file, logits, top: [{index, name, prob}]} with the paths as given', async () => {
    const given = images.map((p) => relative(process.cwd(), p));
    const out: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await main(['node', 'tpt', 'classify', ...given, '--weights', JIT, '--coop', COOP, '--topk', '3', '--json', '--backend', 'wasm']);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect(code).toBe(0);
    const parsed = JSON.parse(out.join('')) as ClassifyResult[];
    expect(parsed).toHaveLength(2);
    parsed.forEach((r, i) => {
      expect(Object.keys(r).sort()).toEqual(['file', 'logits', 'top']);
      expect(r.file).toBe(given[i]);
      expect(r.logits).toHaveLength(200);
      expect(r.top).toHaveLength(3);
      for (const p of r.top) {
        expect(Object.keys(p).sort()).toEqual(['index', 'name', 'prob']);
        expect(p.name).toBe(IMAGENET_A_CLASSNAMES[p.index]);
        expect(p.prob).toBeGreaterThan(0);
        expect(p.prob).toBeLessThanOrEqual(1);
      }
      // The top classes are the highest logits, in order.
      const best = r.logits.indexOf(Math.max(...r.logits));
      expect(r.top[0]!.index).toBe(best);
      expect(r.top[0]!.prob).toBeGreaterThanOrEqual(r.top[1]!.prob);
    });
  });

  it('a bad image in a batch: the good ones are scored, the bad ones named in one error, exit 2', async () => {
    const broken = join(dir, 'broken.jpg');
    writeFileSync(broken, '<html>not an image</html>\n');
    const missing = join(dir, 'missing.png');
    const out: string[] = [];
    const err: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
    let code: number;
    try {
      code = await main(['node', 'tpt', 'classify', images[0]!, broken, images[1]!, missing, '--weights', JIT, '--json', '--backend', 'wasm']);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect(code).toBe(2);
    const parsed = JSON.parse(out.join('')) as ClassifyResult[];
    expect(parsed.map((r) => r.file)).toEqual([images[0], images[1]]);
    const good = await classifyImages(images, { weights: JIT, backend: 'wasm' });
    expect(parsed.map((r) => r.logits)).toEqual(good.map((r) => r.logits));
    const lines = err.join('').split('\n').filter((l) => l !== '' && !l.startsWith('engine: '));
    expect(lines[0]).toBe('tpt: cannot read 2 of 4 images (the other 2 are scored above):');
    expect(lines[1]).toMatch(new RegExp(`^  Cannot decode image .*broken\\.jpg`));
    expect(lines[2]).toMatch(new RegExp(`^  Cannot read image .*missing\\.png`));
    expect(lines[3]).toMatch(/^  → .*tpt dataset verify/);
    expect(lines).toHaveLength(4);
    // without a failure callback (the library's default), the first bad image still throws
    await expect(classifyImages([broken], { weights: JIT, backend: 'wasm' })).rejects.toMatchObject({ code: 'IMAGE_DECODE' });
  });

  it('an empty image list is a user error with a hint', async () => {
    await expect(classifyImages([], { weights: JIT })).rejects.toMatchObject({ code: 'NO_IMAGES' });
  });

  it('repeated classification does not grow tf.memory().numTensors, and dispose frees everything', async () => {
    const before = tf.memory().numTensors;
    const weights = await loadClipWeights(folder);
    const classifier = await ZeroShotClassifier.create(weights, await loadTokenizer(), { engine: await selectEngine('wasm') });
    await classifier.classifyFile(images[0]!); // computes and caches the text features
    const steady = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await classifier.classifyFiles(images);
    expect(tf.memory().numTensors).toBe(steady);
    await classifier.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
