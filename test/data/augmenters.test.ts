import { beforeAll, describe, expect, it } from 'vitest';
import { clipPreprocess, createAugmenter, type AugmenterConfig } from '../../src/data/augmenters.js';
import { decodeImage, type RgbImage } from '../../src/data/image.js';
import { Rng } from '../../src/data/rng.js';
import { normalize, randomResizedCropParams, resizeCenterCrop } from '../../src/data/transforms.js';
import { fixturePath, loadGoldens } from './golden-helpers.js';

const goldens = loadGoldens();
let small: RgbImage;

beforeAll(async () => {
  small = await decodeImage(fixturePath('small.jpg'));
});

const TPT: AugmenterConfig = { augmenter: 'AugmenterTPT', n_aug: 7, n_patches: 0, overlap: 0, augmix: false, severity: 1 };
const PATCH: AugmenterConfig = { augmenter: 'PatchAugmenter', n_aug: 2, n_patches: 10, overlap: 0.25, augmix: false, severity: 1 };
const S = 48;
const PER = S * S * 3;

/** Bytewise equality (vitest's deep equality walks typed arrays element by element, slowly). */
function same(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function view(data: Float32Array, v: number): Float32Array {
  return data.subarray(v * PER, (v + 1) * PER);
}

describe('augmenters', () => {
  it('view counts: 1 + n_aug (TPT) and 1 + n_aug + g²·(1 + n_aug) (patches)', () => {
    for (const [cfg, expected] of [
      [TPT, 8],
      [{ ...TPT, n_aug: 0 }, 1],
      [PATCH, 1 + 2 + 9 * 3],
      [{ ...PATCH, n_patches: 16, n_aug: 1 }, 1 + 1 + 16 * 2],
      [{ ...PATCH, n_patches: 0 }, 3],
    ] as const) {
      const augmenter = createAugmenter({ ...cfg, augmix: true, severity: 2 }, S);
      expect(augmenter.viewCount()).toBe(expected);
      const views = augmenter.makeViews(small, Rng.fromSeed(1));
      expect(views.count).toBe(expected);
      expect(views.size).toBe(S);
      expect(views.data.length).toBe(expected * PER);
    }
  });

  it('view 0 is clipPreprocess (Resize + CenterCrop + Normalize) of the original', () => {
    const expected = clipPreprocess(small, S);
    for (const cfg of [TPT, PATCH]) {
      expect(same(view(createAugmenter(cfg, S).makeViews(small, Rng.fromSeed(3)).data, 0), expected)).toBe(true);
    }
  });

  it('normalises in float32 exactly as torch (x/255 − mean)/std', () => {
    const table = goldens.normalize_table as number[][];
    const ramp: RgbImage = { width: 256, height: 1, data: new Uint8Array(256 * 3) };
    for (let v = 0; v < 256; v++) ramp.data.fill(v, v * 3, v * 3 + 3);
    const out = normalize(ramp);
    for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) expect(out[v * 3 + c]).toBe(Math.fround(table[c]![v]!));
  });

  it('PatchAugmenter order: view 0, n_aug copies of it, then each patch and its copies (identical without AugMix)', () => {
    const views = createAugmenter(PATCH, S).makeViews(small, Rng.fromSeed(4));
    expect(same(view(views.data, 1), view(views.data, 0))).toBe(true);
    expect(same(view(views.data, 2), view(views.data, 0))).toBe(true);
    for (let p = 0; p < 9; p++) {
      const first = 3 + p * 3;
      expect(same(view(views.data, first + 1), view(views.data, first))).toBe(true);
      expect(same(view(views.data, first + 2), view(views.data, first))).toBe(true);
    }
    expect(same(view(views.data, 3), view(views.data, 6))).toBe(false);
    const withAugmix = createAugmenter({ ...PATCH, augmix: true, severity: 3 }, S).makeViews(small, Rng.fromSeed(4));
    expect(same(view(withAugmix.data, 0), view(views.data, 0))).toBe(true);
    expect(same(view(withAugmix.data, 3), view(views.data, 3))).toBe(true); // a patch itself is not augmented
    expect(same(view(withAugmix.data, 1), view(withAugmix.data, 0))).toBe(false);
  });

  it('is deterministic: same seed and identity → same views; another seed or identity → other views', () => {
    for (const cfg of [TPT, { ...TPT, augmix: true, severity: 3 }, { ...PATCH, augmix: true, severity: 2 }]) {
      const augmenter = createAugmenter(cfg, S);
      const a = augmenter.makeViews(small, Rng.forSample(5, 'n01498041/a.jpg')).data;
      const b = augmenter.makeViews(small, Rng.forSample(5, 'n01498041/a.jpg')).data;
      const c = augmenter.makeViews(small, Rng.forSample(6, 'n01498041/a.jpg')).data;
      const d = augmenter.makeViews(small, Rng.forSample(5, 'n01498041/b.jpg')).data;
      expect(same(b, a)).toBe(true);
      expect(same(c, a)).toBe(false);
      expect(same(d, a)).toBe(false);
      expect(same(view(c, 0), view(a, 0))).toBe(true); // view 0 has no randomness
    }
  });

  it('AugmenterTPT views are crops of the original (not of view 0), about half of them flipped', () => {
    const big: RgbImage = { width: 90, height: 60, data: new Uint8Array(90 * 60 * 3) };
    // left half dark, right half bright: a flip or crop position shows in the column means
    for (let y = 0; y < 60; y++) for (let x = 0; x < 90; x++) big.data.fill(x < 45 ? 20 : 230, (y * 90 + x) * 3, (y * 90 + x) * 3 + 3);
    const views = createAugmenter({ ...TPT, n_aug: 400 }, 16).makeImages(big, Rng.fromSeed(9));
    let darkLeft = 0;
    let mixed = 0;
    for (const v of views.slice(1)) {
      const left = v.data[(8 * 16 + 0) * 3] as number;
      const right = v.data[(8 * 16 + 15) * 3] as number;
      if (left !== right) {
        mixed++;
        if (left < right) darkLeft++;
      }
    }
    expect(mixed).toBeGreaterThan(100);
    expect(Math.abs(darkLeft / mixed - 0.5)).toBeLessThan(0.12);
    expect(same(resizeCenterCrop(big, 16).data, views[0]!.data)).toBe(true);
  });
});

describe('RandomResizedCrop parameters follow torchvision\'s sampler', () => {
  it('matches the moments of torchvision get_params (20000 draws each) within sampling error', () => {
    for (const ref of Object.values(goldens.rrc_stats as Record<string, { width: number; height: number; n: number; mean: number[]; std: number[]; full_frac: number }>)) {
      const rng = Rng.fromSeed(ref.width * 7 + ref.height);
      const n = 20000;
      const sums = [0, 0, 0, 0];
      let full = 0;
      let outside = 0;
      for (let k = 0; k < n; k++) {
        const b = randomResizedCropParams(ref.width, ref.height, rng);
        if (b.top < 0 || b.left < 0 || b.top + b.height > ref.height || b.left + b.width > ref.width || b.width < 1 || b.height < 1) outside++;
        [b.top, b.left, b.height, b.width].forEach((v, i) => (sums[i]! += v));
        if (b.height === ref.height && b.width === ref.width) full++;
      }
      sums.forEach((s, i) => {
        const se = (ref.std[i]! * Math.SQRT2) / Math.sqrt(n); // two samples of n
        expect(Math.abs(s / n - ref.mean[i]!), `${ref.width}x${ref.height} param ${i}`).toBeLessThan(4.5 * se + 1e-9);
      });
      expect(outside).toBe(0);
      expect(Math.abs(full / n - ref.full_frac)).toBeLessThan(0.01);
    }
  });

  it('falls back to the centred, ratio-clamped crop when no try fits', () => {
    // A 1000×10 strip: almost no sampled crop fits, so the fallback dominates.
    const rng = Rng.fromSeed(2);
    const fallback = { top: 0, left: Math.floor((1000 - 13) / 2), height: 10, width: 13 }; // w = round(10·4/3)
    let hits = 0;
    for (let k = 0; k < 200; k++) if (JSON.stringify(randomResizedCropParams(1000, 10, rng)) === JSON.stringify(fallback)) hits++;
    expect(hits).toBeGreaterThan(150);
    const tall = randomResizedCropParams(3, 900, Rng.fromSeed(3));
    expect(tall.width).toBeLessThanOrEqual(3);
  });
});

describe('PatchAugmenter on images too small for the grid', () => {
  it('says so with a hint instead of failing inside the resize', () => {
    const tiny: RgbImage = { width: 2, height: 40, data: new Uint8Array(2 * 40 * 3) };
    expect(() => createAugmenter({ ...PATCH, n_patches: 9 }, 16).makeViews(tiny, Rng.fromSeed(0))).toThrow(/3x3 patch grid/);
  });
});
