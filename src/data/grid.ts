/**
 * A picture of the views laid out like the seed's `show_imgs`: the first image alone on the top row, then the
 * others in rows of `imagesPerRow`, each view un-normalised to uint8 with the seed's unnormalizer
 * (Normalize(−mean/std, 1/std), clamp to [0, 1], ×255, truncating cast). Written as PNG through sharp.
 */
import sharp from 'sharp';
import type { RgbImage } from './image.js';
import { CLIP_MEAN, CLIP_STD } from './transforms.js';

const f32 = Math.fround;
const GAP = 8; // pixels between cells, and around the grid
const BACKGROUND = 255; // white, like a matplotlib figure

// The seed's unnormalizer in torch float32: Normalize(mean = −m/s, std = 1/s) computes (x − (−m/s)) / (1/s).
const UN_MEAN = CLIP_MEAN.map((m, c) => f32(f32(-f32(m)) / f32(CLIP_STD[c] as number)));
const UN_STD = CLIP_STD.map((s) => f32(1 / f32(s)));

/** One view of a normalised NHWC batch back to uint8, as the seed's `unnormalizer`. */
export function unnormalizeView(data: Float32Array, view: number, size: number): RgbImage {
  const per = size * size * 3;
  const out = new Uint8Array(per);
  for (let i = 0; i < per; i++) {
    const c = i % 3;
    const x = f32(f32((data[view * per + i] as number) - (UN_MEAN[c] as number)) / (UN_STD[c] as number));
    const clamped = x < 0 ? 0 : x > 1 ? 1 : x;
    out[i] = Math.trunc(f32(clamped * 255));
  }
  return { width: size, height: size, data: out };
}

export interface GridLayout {
  width: number;
  height: number;
  /** Top-left corner of each image, in input order. */
  positions: Array<{ x: number; y: number }>;
}

/** Cell positions for `count` square images of side `size`: the first alone on row 0, the rest below. */
export function gridLayout(count: number, size: number, imagesPerRow: number): GridLayout {
  if (count < 1) throw new RangeError('gridLayout: no images');
  const perRow = Math.max(1, Math.floor(imagesPerRow));
  const restRows = Math.ceil((count - 1) / perRow);
  const cell = size + GAP;
  const positions = [{ x: GAP, y: GAP }];
  for (let k = 1; k < count; k++) {
    const row = 1 + Math.floor((k - 1) / perRow);
    const col = (k - 1) % perRow;
    positions.push({ x: GAP + col * cell, y: GAP + row * cell });
  }
  return { width: GAP + perRow * cell, height: GAP + (1 + restRows) * cell, positions };
}

/** Draws equally sized RGB images into one RGB canvas. */
export function drawGrid(images: readonly RgbImage[], imagesPerRow: number): RgbImage {
  const first = images[0];
  if (!first) throw new RangeError('drawGrid: no images');
  const size = first.width;
  const layout = gridLayout(images.length, size, imagesPerRow);
  const canvas = new Uint8Array(layout.width * layout.height * 3).fill(BACKGROUND);
  images.forEach((img, k) => {
    if (img.width !== size || img.height !== size) throw new RangeError(`drawGrid: image ${k} is not ${size}x${size}`);
    const { x, y } = layout.positions[k]!;
    for (let row = 0; row < size; row++) {
      const src = row * size * 3;
      canvas.set(img.data.subarray(src, src + size * 3), ((y + row) * layout.width + x) * 3);
    }
  });
  return { width: layout.width, height: layout.height, data: canvas };
}

/** PNG of the views of a normalised [V, S, S, 3] batch, laid out as `show_imgs`. */
export async function viewsGridPng(data: Float32Array, count: number, size: number, imagesPerRow: number): Promise<Buffer> {
  const images = Array.from({ length: count }, (_, v) => unnormalizeView(data, v, size));
  const grid = drawGrid(images, imagesPerRow);
  return sharp(Buffer.from(grid.data.buffer, grid.data.byteOffset, grid.data.length), {
    raw: { width: grid.width, height: grid.height, channels: 3 },
  })
    .png()
    .toBuffer();
}
