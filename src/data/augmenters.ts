/**
 * The seed's two augmenters (sections 7.1 and 8.2/8.3), producing the views the engine feeds to the model.
 *
 * Output: one Float32Array [V, S, S, 3] (NHWC, normalised with CLIP's mean/std), views in the seed's order
 * (the seed's leading `TF.to_tensor(x)` of the original image is for display only and is not a view):
 * - AugmenterTPT:   view 0, then n_aug × Normalize(AugMix?(RandomResizedCrop+HFlip(original)))
 * - PatchAugmenter: view 0, then n_aug × Normalize(AugMix?(base(original))), then for each grid patch p:
 *                   Normalize(base(p)) followed by n_aug × Normalize(AugMix?(base(p)))
 * where view 0 = Normalize(base(original)) and base = Resize(S, bicubic) + CenterCrop(S).
 * With AugMix off the copies are identical, as in the seed.
 */
import { TptError } from '../errors.js';
import { augmix } from './augmix.js';
import type { RgbImage } from './image.js';
import type { Rng } from './rng.js';
import { crop, normalize, normalizeInto, randomResizedCropFlip, resizeCenterCrop } from './transforms.js';

export type AugmenterName = 'AugmenterTPT' | 'PatchAugmenter';

export interface AugmenterConfig {
  augmenter: AugmenterName;
  n_aug: number;
  n_patches: number;
  overlap: number;
  augmix: boolean;
  severity: number;
}

export interface Views {
  /** [count, size, size, 3], normalised, in the engine's order. */
  data: Float32Array;
  count: number;
  size: number;
}

export interface Augmenter {
  viewCount(): number;
  /** Uint8 views before normalisation (for display and tests), in the same order as makeViews. */
  makeImages(image: RgbImage, rng: Rng): RgbImage[];
  makeViews(image: RgbImage, rng: Rng): Views;
}

/** The seed's `crop_patches_with_overlap` grid (before its base transform): floor(√n)² cells, row-major. */
export function cropPatchesWithOverlap(image: RgbImage, nPatches: number, overlap: number): RgbImage[] {
  if (nPatches === 0) return [];
  const n = Math.floor(Math.sqrt(nPatches));
  const { width, height } = image;
  const partWidth = Math.floor(width / n);
  const partHeight = Math.floor(height / n);
  if (partWidth === 0 || partHeight === 0) {
    // The seed would crash here too (an empty crop makes Resize divide by zero).
    throw new TptError('IMAGE_TOO_SMALL', `A ${width}x${height} image cannot be cut into a ${n}x${n} patch grid`, {
      hint: 'Use fewer patches (n_patches) for images this small, or the AugmenterTPT augmenter.',
    });
  }
  const overlapWidth = Math.trunc(partWidth * overlap);
  const overlapHeight = Math.trunc(partHeight * overlap);
  const patches: RgbImage[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const left = Math.max(j * partWidth - overlapWidth, 0);
      const upper = Math.max(i * partHeight - overlapHeight, 0);
      const right = Math.min((j + 1) * partWidth + overlapWidth, width);
      const lower = Math.min((i + 1) * partHeight + overlapHeight, height);
      patches.push(crop(image, upper, left, lower - upper, right - left));
    }
  }
  return patches;
}

/** Number of grid patches the seed makes for `n_patches`. */
export function gridPatchCount(nPatches: number): number {
  if (nPatches <= 0) return 0;
  const n = Math.floor(Math.sqrt(nPatches));
  return n * n;
}

/** The seed's `clip_preprocess`: Resize(S, bicubic) + CenterCrop(S) + Normalize, as [S, S, 3]. */
export function clipPreprocess(image: RgbImage, size: number): Float32Array {
  return normalize(resizeCenterCrop(image, size));
}

function packViews(images: RgbImage[], size: number): Views {
  const per = size * size * 3;
  const data = new Float32Array(images.length * per);
  images.forEach((img, v) => {
    if (img.width !== size || img.height !== size) throw new Error(`view ${v} is ${img.width}x${img.height}, not ${size}`);
    normalizeInto(img, data, v * per);
  });
  return { data, count: images.length, size };
}

function checkConfig(cfg: AugmenterConfig, size: number): void {
  const bad = (what: string): never => {
    throw new RangeError(`augmenter config: ${what}`);
  };
  if (!Number.isInteger(size) || size < 1) bad(`image size ${size}`);
  if (!Number.isInteger(cfg.n_aug) || cfg.n_aug < 0) bad(`n_aug ${cfg.n_aug}`);
  if (!Number.isInteger(cfg.n_patches) || cfg.n_patches < 0) bad(`n_patches ${cfg.n_patches}`);
  if (!(cfg.overlap >= 0)) bad(`overlap ${cfg.overlap}`);
  if (cfg.augmix && (!Number.isInteger(cfg.severity) || cfg.severity < 1 || cfg.severity > 10)) bad(`severity ${cfg.severity}`);
}

export function createAugmenter(cfg: AugmenterConfig, size: number): Augmenter {
  checkConfig(cfg, size);
  const maybeAugmix = (img: RgbImage, rng: Rng): RgbImage => (cfg.augmix ? augmix(img, cfg.severity, rng) : img);

  if (cfg.augmenter === 'AugmenterTPT') {
    const makeImages = (image: RgbImage, rng: Rng): RgbImage[] => {
      const views = [resizeCenterCrop(image, size)];
      for (let k = 0; k < cfg.n_aug; k++) views.push(maybeAugmix(randomResizedCropFlip(image, size, rng), rng));
      return views;
    };
    return {
      viewCount: () => 1 + cfg.n_aug,
      makeImages,
      makeViews: (image, rng) => packViews(makeImages(image, rng), size),
    };
  }

  const makeImages = (image: RgbImage, rng: Rng): RgbImage[] => {
    const base = resizeCenterCrop(image, size);
    const views = [base];
    for (let k = 0; k < cfg.n_aug; k++) views.push(maybeAugmix(base, rng));
    for (const patch of cropPatchesWithOverlap(image, cfg.n_patches, cfg.overlap)) {
      const patchView = resizeCenterCrop(patch, size);
      views.push(patchView);
      for (let k = 0; k < cfg.n_aug; k++) views.push(maybeAugmix(patchView, rng));
    }
    return views;
  };
  return {
    viewCount: () => 1 + cfg.n_aug + gridPatchCount(cfg.n_patches) * (1 + cfg.n_aug),
    makeImages,
    makeViews: (image, rng) => packViews(makeImages(image, rng), size),
  };
}
