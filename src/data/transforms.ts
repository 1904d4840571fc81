/**
 * torchvision 0.14 transforms on PIL images, as the seed composes them, over 8-bit RGB (HWC) images.
 * Resampling goes through the Pillow port in resample.ts; the random draws come from our Rng, with
 * torchvision's sampling scheme (which values are drawn, in which order, from which distribution).
 */
import type { RgbImage } from './image.js';
import { resample } from './resample.js';
import type { Rng } from './rng.js';

/** CLIP's preprocessing constants (openai/CLIP `_transform`), as float32 like torchvision's Normalize. */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Python 3's round(): half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; undo that for odd results exactly at a half.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `Image.crop((left, top, left + width, top + height))`; pixels outside the image are black, as in PIL. */
export function crop(img: RgbImage, top: number, left: number, height: number, width: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const x0 = Math.max(left, 0);
  const x1 = Math.min(left + width, img.width);
  if (x1 > x0) {
    for (let y = 0; y < height; y++) {
      const sy = top + y;
      if (sy < 0 || sy >= img.height) continue;
      const src = (sy * img.width + x0) * 3;
      out.set(img.data.subarray(src, src + (x1 - x0) * 3), (y * width + (x0 - left)) * 3);
    }
  }
  return { width, height, data: out };
}

/** `F.hflip`. */
export function hflip(img: RgbImage): RgbImage {
  const { width, height } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const s = row + x * 3;
      const d = row + (width - 1 - x) * 3;
      out[d] = img.data[s] as number;
      out[d + 1] = img.data[s + 1] as number;
      out[d + 2] = img.data[s + 2] as number;
    }
  }
  return { width, height, data: out };
}

/** Output size of `Resize(size)` with one int: the shorter side becomes `size`, the longer int(size·long/short). */
export function resizedShorterSide(width: number, height: number, size: number): [number, number] {
  if (width <= height) return [size, Math.trunc((size * height) / width)];
  return [Math.trunc((size * width) / height), size];
}

/** `transforms.Resize(size, interpolation=BICUBIC)` on a PIL image; unchanged when already that size. */
export function resizeShorterSide(img: RgbImage, size: number): RgbImage {
  const [w, h] = resizedShorterSide(img.width, img.height, size);
  if (w === img.width && h === img.height) return img;
  return resample(img, w, h, 'bicubic');
}

/** `transforms.CenterCrop(size)`: zero padding when smaller, then top/left = int(round((H − S)/2)). */
export function centerCrop(img: RgbImage, size: number): RgbImage {
  let current = img;
  if (size > current.width || size > current.height) {
    const padLeft = size > current.width ? Math.floor((size - current.width) / 2) : 0;
    const padTop = size > current.height ? Math.floor((size - current.height) / 2) : 0;
    const padRight = size > current.width ? Math.floor((size - current.width + 1) / 2) : 0;
    const padBottom = size > current.height ? Math.floor((size - current.height + 1) / 2) : 0;
    current = crop(current, -padTop, -padLeft, current.height + padTop + padBottom, current.width + padLeft + padRight);
    if (current.width === size && current.height === size) return current;
  }
  const top = roundHalfEven((current.height - size) / 2);
  const left = roundHalfEven((current.width - size) / 2);
  return crop(current, top, left, size, size);
}

/** The seed's base transform: Resize(S, bicubic) then CenterCrop(S). */
export function resizeCenterCrop(img: RgbImage, size: number): RgbImage {
  return centerCrop(resizeShorterSide(img, size), size);
}

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

const RRC_SCALE = [0.08, 1] as const;
const RRC_RATIO = [3 / 4, 4 / 3] as const;
// torch.log(torch.tensor(ratio)) is float32.
const RRC_LOG_RATIO = [Math.fround(Math.log(Math.fround(RRC_RATIO[0]))), Math.fround(Math.log(Math.fround(RRC_RATIO[1])))] as const;

/**
 * `RandomResizedCrop.get_params` with the default scale (0.08, 1) and ratio (3/4, 4/3): up to 10 tries of
 * area·U(scale) and a log-uniform ratio (both float32 in torch), w = round(√(area·r)), h = round(√(area/r))
 * with Python's round; accepted when it fits, then uniform integer offsets; otherwise the centred fallback.
 */
export function randomResizedCropParams(width: number, height: number, rng: Rng): CropBox {
  const area = height * width;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * Math.fround(rng.uniform(RRC_SCALE[0], RRC_SCALE[1]));
    const aspectRatio = Math.fround(Math.exp(Math.fround(rng.uniform(RRC_LOG_RATIO[0], RRC_LOG_RATIO[1]))));
    const w = roundHalfEven(Math.sqrt(targetArea * aspectRatio));
    const h = roundHalfEven(Math.sqrt(targetArea / aspectRatio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.nextInt(0, height - h);
      const left = rng.nextInt(0, width - w);
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < RRC_RATIO[0]) {
    w = width;
    h = roundHalfEven(w / RRC_RATIO[0]);
  } else if (inRatio > RRC_RATIO[1]) {
    h = height;
    w = roundHalfEven(h * RRC_RATIO[1]);
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** `F.resized_crop(img, ..., [S, S], BILINEAR)` on a PIL image: crop, then resize unless already S×S. */
export function resizedCrop(img: RgbImage, box: CropBox, size: number): RgbImage {
  const cropped = crop(img, box.top, box.left, box.height, box.width);
  if (cropped.width === size && cropped.height === size) return cropped;
  return resample(cropped, size, size, 'bilinear');
}

/** The seed's preaugment: RandomResizedCrop(S) then RandomHorizontalFlip(0.5), drawing in that order. */
export function randomResizedCropFlip(img: RgbImage, size: number, rng: Rng): RgbImage {
  const box = randomResizedCropParams(img.width, img.height, rng);
  const view = resizedCrop(img, box, size);
  return rng.bernoulli(0.5) ? hflip(view) : view;
}

const MEAN_F32 = CLIP_MEAN.map((m) => Math.fround(m));
const STD_F32 = CLIP_STD.map((s) => Math.fround(s));

/** The normalised value of each byte per channel: the result depends only on the byte value. */
const NORMALIZE_TABLES = [0, 1, 2].map((c) => {
  const mean = MEAN_F32[c] as number;
  const std = STD_F32[c] as number;
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);
  return table;
}) as [Float32Array, Float32Array, Float32Array];

/**
 * The seed's normalizer: x.float()/255 then (x − mean)/std, all in float32 as torch computes it, written
 * into `out` (HWC) at `offset`. Returns `out`.
 */
export function normalizeInto(img: RgbImage, out: Float32Array, offset = 0): Float32Array {
  const src = img.data;
  for (let i = 0; i < src.length; i += 3) {
    out[offset + i] = NORMALIZE_TABLES[0][src[i] as number] as number;
    out[offset + i + 1] = NORMALIZE_TABLES[1][src[i + 1] as number] as number;
    out[offset + i + 2] = NORMALIZE_TABLES[2][src[i + 2] as number] as number;
  }
  return out;
}

export function normalize(img: RgbImage): Float32Array {
  return normalizeInto(img, new Float32Array(img.width * img.height * 3));
}
