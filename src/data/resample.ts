/**
 * A port of Pillow's separable resampler (libImaging/Resample.c, Pillow 9.x) for 8-bit RGB images.
 *
 * torchvision's `Resize` and `RandomResizedCrop` on PIL images call `Image.resize`, so matching the seed's
 * views pixel for pixel needs Pillow's exact arithmetic, which sharp/libvips does not reproduce (it shrinks
 * with a box filter first and aligns upsampling differently). What is reproduced here:
 * - filters: bicubic with a = -0.5 (support 2) and bilinear/triangle (support 1);
 * - antialiasing: when shrinking, the filter support is stretched by the scale factor;
 * - coefficients computed in double, normalised to sum 1, then converted to fixed point with 22 fractional
 *   bits (rounded half away from zero);
 * - two passes, horizontal first; each pass accumulates in integers starting from 0.5 in fixed point, then
 *   shifts and clips to uint8, so the intermediate image is rounded to uint8 as in Pillow;
 * - the horizontal pass only produces the rows the vertical pass reads; a pass is skipped when its axis
 *   keeps its size and the box covers it exactly.
 */
import type { RgbImage } from './image.js';

export type ResampleFilter = 'bicubic' | 'bilinear';

/** Source region in pixel coordinates of the input, as Pillow's `box=(x0, y0, x1, y1)`. */
export type ResampleBox = readonly [number, number, number, number];

const PRECISION_BITS = 32 - 8 - 2;
const FIXED_ONE = 1 << PRECISION_BITS;
const FIXED_HALF = 1 << (PRECISION_BITS - 1);

interface FilterDef {
  support: number;
  weight(x: number): number;
}

const FILTERS: Record<ResampleFilter, FilterDef> = {
  bicubic: {
    support: 2,
    weight(x: number): number {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  bilinear: {
    support: 1,
    weight(x: number): number {
      if (x < 0) x = -x;
      if (x < 1) return 1 - x;
      return 0;
    },
  },
};

interface Coefficients {
  /** Taps per output sample (the stride of `weights`). */
  ksize: number;
  /** Per output sample: first input index and number of taps. */
  bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output sample. */
  weights: Int32Array;
}

/** Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`. */
function precomputeCoefficients(
  inSize: number,
  in0: number,
  in1: number,
  outSize: number,
  filter: FilterDef,
): Coefficients {
  // Pillow keeps the box in C floats; (in1 - in0) is a float subtraction.
  const scale = Math.fround(Math.fround(in1) - Math.fround(in0)) / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const taps = new Float64Array(ksize);
  const invFilterScale = 1 / filterScale;
  const start = Math.fround(in0);
  for (let xx = 0; xx < outSize; xx++) {
    const center = start + (xx + 0.5) * scale;
    // (int) casts in C truncate toward zero; the +0.5 makes them round for positive values.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * invFilterScale);
      taps[x] = w;
      total += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const k = total !== 0 ? (taps[x] as number) / total : (taps[x] as number);
      weights[base + x] = k < 0 ? Math.trunc(-0.5 + k * FIXED_ONE) : Math.trunc(0.5 + k * FIXED_ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

function clip8(accumulator: number): number {
  // Pillow: >= 255.0 in fixed point → 255, <= 0 → 0, else the integer part.
  if (accumulator >= 255 * FIXED_ONE) return 255;
  if (accumulator <= 0) return 0;
  return accumulator >> PRECISION_BITS;
}

/** Horizontal pass over input rows [rowStart, rowStart + rowCount). */
function resampleHorizontal(src: RgbImage, rowStart: number, rowCount: number, outWidth: number, c: Coefficients): RgbImage {
  const out = new Uint8Array(outWidth * rowCount * 3);
  const { ksize, bounds, weights } = c;
  const srcRowStride = src.width * 3;
  const data = src.data;
  for (let y = 0; y < rowCount; y++) {
    const rowBase = (y + rowStart) * srcRowStride;
    let o = y * outWidth * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2] as number;
      const xmax = bounds[xx * 2 + 1] as number;
      const kBase = xx * ksize;
      let s0 = FIXED_HALF;
      let s1 = FIXED_HALF;
      let s2 = FIXED_HALF;
      let p = rowBase + xmin * 3;
      for (let x = 0; x < xmax; x++, p += 3) {
        const k = weights[kBase + x] as number;
        s0 += (data[p] as number) * k;
        s1 += (data[p + 1] as number) * k;
        s2 += (data[p + 2] as number) * k;
      }
      out[o++] = clip8(s0);
      out[o++] = clip8(s1);
      out[o++] = clip8(s2);
    }
  }
  return { width: outWidth, height: rowCount, data: out };
}

/** Vertical pass; `rowOffset` shifts the bounds when the input holds only the rows the pass needs. */
function resampleVertical(src: RgbImage, outHeight: number, c: Coefficients, rowOffset: number): RgbImage {
  const width = src.width;
  const out = new Uint8Array(width * outHeight * 3);
  const { ksize, bounds, weights } = c;
  const rowStride = width * 3;
  const acc = new Int32Array(rowStride);
  const data = src.data;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = (bounds[yy * 2] as number) - rowOffset;
    const ymax = bounds[yy * 2 + 1] as number;
    const kBase = yy * ksize;
    // Row-major accumulation; integer sums are exact, so the order does not change the result.
    acc.fill(FIXED_HALF);
    for (let y = 0; y < ymax; y++) {
      const k = weights[kBase + y] as number;
      const rowBase = (y + ymin) * rowStride;
      for (let i = 0; i < rowStride; i++) acc[i] = (acc[i] as number) + (data[rowBase + i] as number) * k;
    }
    const o = yy * rowStride;
    for (let i = 0; i < rowStride; i++) out[o + i] = clip8(acc[i] as number);
  }
  return { width, height: outHeight, data: out };
}

/**
 * `Image.resize((width, height), filter, box)` for an RGB image. Without a box the whole image is the
 * source. Returns a copy when nothing needs resampling, as Pillow does.
 */
export function resample(
  src: RgbImage,
  width: number,
  height: number,
  filter: ResampleFilter,
  box: ResampleBox = [0, 0, src.width, src.height],
): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resample: bad output size ${width}x${height}`);
  }
  const [x0, y0, x1, y1] = box;
  if (x0 < 0 || y0 < 0 || x1 > src.width || y1 > src.height || x1 - x0 < 0 || y1 - y0 < 0) {
    throw new RangeError(`resample: box ${box.join(',')} is outside the ${src.width}x${src.height} image`);
  }
  if (width === src.width && height === src.height && x0 === 0 && y0 === 0 && x1 === width && y1 === height) {
    return { width, height, data: src.data.slice() };
  }
  const def = FILTERS[filter];
  const needHorizontal = width !== src.width || x0 !== 0 || x1 !== width;
  const needVertical = height !== src.height || y0 !== 0 || y1 !== height;
  const horiz = precomputeCoefficients(src.width, x0, x1, width, def);
  const vert = precomputeCoefficients(src.height, y0, y1, height, def);
  const firstRow = vert.bounds[0] as number;
  const lastRow = (vert.bounds[height * 2 - 2] as number) + (vert.bounds[height * 2 - 1] as number);
  let current = src;
  let rowOffset = 0;
  if (needHorizontal) {
    current = resampleHorizontal(src, firstRow, lastRow - firstRow, width, horiz);
    rowOffset = firstRow;
  }
  if (needVertical) {
    current = resampleVertical(current, height, vert, rowOffset);
  }
  return current === src ? { width: src.width, height: src.height, data: src.data.slice() } : current;
}
