/**
 * torchvision 0.14's AugMix operations (`autoaugment._apply_op`) on uint8 image tensors, the code path the
 * seed takes (it applies AugMix to the output of PILToTensor). Each op is deterministic given its magnitude.
 *
 * Float arithmetic follows torch's float32 kernels step by step (Math.fround after each operation) so that
 * results match torch exactly. In grid_sample's AVX2 kernel the compiler fuses a·b + c into FMA (one
 * rounding); those steps are computed as fround(a·b + c) in double, which is exact because a·b of a byte
 * and a float32 fits in a double. Where torch's float order is not knowable in general (the grid's small
 * matrix product, other CPUs without FMA) a pixel may differ by one level when it falls within ~1e-5 of x.5.
 * Images are HWC here (torch's are CHW); every op is per pixel or per channel, so the layout is immaterial.
 */
import type { RgbImage } from './image.js';

const f32 = Math.fround;
// CPython's math.radians / math.degrees constants.
const DEG_TO_RAD = Math.PI / 180;
const RAD_TO_DEG = 180 / Math.PI;

/** torch.round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // `r & 1` instead of `r % 2`: a float modulo is a slow library call, and r here is a small integer.
  return r - x === 0.5 && (r & 1) === 1 ? r - 1 : r;
}

function truncClampU8(v: number): number {
  // `.clamp(0, 255).to(torch.uint8)`: clamp, then the float→uint8 cast truncates.
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
}

/** Applies one 256-entry table per channel (ops whose output depends only on the byte value and channel). */
function applyChannelLuts(img: RgbImage, luts: readonly [Uint8Array, Uint8Array, Uint8Array]): RgbImage {
  const [l0, l1, l2] = luts;
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    out[i] = l0[src[i] as number] as number;
    out[i + 1] = l1[src[i + 1] as number] as number;
    out[i + 2] = l2[src[i + 2] as number] as number;
  }
  return { width: img.width, height: img.height, data: out };
}

function applyLut(img: RgbImage, lut: Uint8Array): RgbImage {
  return applyChannelLuts(img, [lut, lut, lut]);
}

/**
 * `_blend(img1, img2, ratio)` = (ratio·img1 + (1 − ratio)·img2).clamp(0, 255).to(uint8) in float32. Both
 * products depend on one byte each, so they are tabulated: blended = fround(first[x] + second[y]).
 */
function blendTables(ratio: number): { first: Float32Array; second: Float32Array } {
  const r = f32(ratio);
  const rc = f32(1 - ratio);
  const first = new Float32Array(256);
  const second = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    first[v] = r * v;
    second[v] = rc * v;
  }
  return { first, second };
}

/** Blend with a second uint8 image given per element (same layout as img). */
function blendImages(img: RgbImage, other: Uint8Array, ratio: number): RgbImage {
  const { first, second } = blendTables(ratio);
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    out[i] = truncClampU8(f32((first[src[i] as number] as number) + (second[other[i] as number] as number)));
  }
  return { width: img.width, height: img.height, data: out };
}

const GREY_R = f32(0.2989);
const GREY_G = f32(0.587);
const GREY_B = f32(0.114);

/** `rgb_to_grayscale`: (0.2989 r + 0.587 g + 0.114 b) in float32, truncated to uint8; one value per pixel. */
function grayscale(img: RgbImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const src = img.data;
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    out[p] = Math.trunc(f32(f32(f32(GREY_R * (src[i] as number)) + f32(GREY_G * (src[i + 1] as number))) + f32(GREY_B * (src[i + 2] as number))));
  }
  return out;
}

export function adjustBrightness(img: RgbImage, factor: number): RgbImage {
  // blend with zeros: (1 − ratio)·0 adds nothing
  const { first } = blendTables(factor);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = truncClampU8(first[v] as number);
  return applyLut(img, lut);
}

export function adjustSaturation(img: RgbImage, factor: number): RgbImage {
  const grey = grayscale(img);
  const other = new Uint8Array(img.data.length);
  for (let p = 0; p < grey.length; p++) other.fill(grey[p] as number, p * 3, p * 3 + 3);
  return blendImages(img, other, factor);
}

export function adjustContrast(img: RgbImage, factor: number): RgbImage {
  const grey = grayscale(img);
  // torch's CPU mean is sum(...).div_(N); a sum of at most 2^24 / 255 bytes is exact in float32.
  let sum = 0;
  for (const v of grey) sum += v;
  const mean = f32(f32(sum) / grey.length);
  const r = f32(factor);
  const meanTerm = f32(f32(1 - factor) * mean);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = truncClampU8(f32(f32(r * v) + meanTerm));
  return applyLut(img, lut);
}

/** `adjust_sharpness`: blend with the 3×3 [1 1 1; 1 5 1; 1 1 1]/13 blur of the interior (borders kept). */
export function adjustSharpness(img: RgbImage, factor: number): RgbImage {
  const { width, height } = img;
  if (width <= 2 || height <= 2) return img;
  const blurred = img.data.slice();
  const stride = width * 3;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      for (let c = 0; c < 3; c++) {
        const i = y * stride + x * 3 + c;
        const d = img.data;
        const ring =
          (d[i - stride - 3] as number) + (d[i - stride] as number) + (d[i - stride + 3] as number) +
          (d[i - 3] as number) + (d[i + 3] as number) +
          (d[i + stride - 3] as number) + (d[i + stride] as number) + (d[i + stride + 3] as number);
        // (ring + 5·center)/13 is never within float error of x.5 (it is at least 1/26 away), so rounding the
        // exact quotient gives torch's float32 conv + round.
        blurred[i] = Math.round((ring + 5 * (d[i] as number)) / 13);
      }
    }
  }
  return blendImages(img, blurred, factor);
}

export function posterize(img: RgbImage, bits: number): RgbImage {
  // torch: img & -int(2 ** (8 - bits)), the mask taken as uint8 (bits = 0 clears everything).
  const mask = (256 - 2 ** (8 - bits)) & 0xff;
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v & mask;
  return applyLut(img, lut);
}

export function solarize(img: RgbImage, threshold: number): RgbImage {
  const t = f32(threshold);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v >= t ? 255 - v : v;
  return applyLut(img, lut);
}

function channelLuts(build: (channel: number) => Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  return [build(0), build(1), build(2)];
}

export function autocontrast(img: RgbImage): RgbImage {
  const lo = [255, 255, 255];
  const hi = [0, 0, 0];
  const src = img.data;
  for (let i = 0; i < src.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = src[i + c] as number;
      if (v < (lo[c] as number)) lo[c] = v;
      if (v > (hi[c] as number)) hi[c] = v;
    }
  }
  return applyChannelLuts(
    img,
    channelLuts((c) => {
      const l = lo[c] as number;
      const h = hi[c] as number;
      const minimum = l === h ? 0 : l;
      // `bound / (max − min)` on a tensor is Tensor.__rtruediv__, i.e. reciprocal() then a multiply by 255.
      const scale = l === h ? 1 : f32(f32(1 / (h - l)) * 255);
      const lut = new Uint8Array(256);
      for (let v = 0; v < 256; v++) lut[v] = truncClampU8(f32((v - minimum) * scale));
      return lut;
    }),
  );
}

export function equalize(img: RgbImage): RgbImage {
  const hists = [new Int32Array(256), new Int32Array(256), new Int32Array(256)] as const;
  const src = img.data;
  for (let i = 0; i < src.length; i += 3) {
    hists[0][src[i] as number]! += 1;
    hists[1][src[i + 1] as number]! += 1;
    hists[2][src[i + 2] as number]! += 1;
  }
  return applyChannelLuts(
    img,
    channelLuts((c) => {
      const hist = hists[c] as Int32Array;
      // step = sum of the non-zero bins except the last non-zero one, // 255
      let total = 0;
      let lastNonZero = 0;
      for (let v = 0; v < 256; v++) {
        if ((hist[v] as number) !== 0) {
          total += hist[v] as number;
          lastNonZero = hist[v] as number;
        }
      }
      const step = Math.floor((total - lastNonZero) / 255);
      const lut = new Uint8Array(256);
      if (step === 0) {
        for (let v = 0; v < 256; v++) lut[v] = v;
        return lut;
      }
      // lut = (cumsum + step // 2) // step, shifted right by one (lut[0] = 0), clamped to [0, 255]
      let cumulative = 0;
      for (let v = 0; v < 255; v++) {
        cumulative += hist[v] as number;
        lut[v + 1] = Math.min(255, Math.floor((cumulative + Math.floor(step / 2)) / step));
      }
      return lut;
    }),
  );
}

/** torchvision's `_get_inverse_affine_matrix(center, angle, translate, scale, shear)` in doubles. */
export function inverseAffineMatrix(
  center: readonly [number, number],
  angle: number,
  translate: readonly [number, number],
  scale: number,
  shear: readonly [number, number],
): number[] {
  const rot = angle * DEG_TO_RAD;
  const sx = shear[0] * DEG_TO_RAD;
  const sy = shear[1] * DEG_TO_RAD;
  const [cx, cy] = center;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0].map((x) => x / scale) as [number, number, number, number, number, number];
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

/**
 * `F_t.affine` / `F_t.rotate` (expand=False) with bilinear `grid_sample` (align_corners=False, zero padding,
 * fill=None), then torch.round and the cast back to uint8.
 */
export function affineBilinear(img: RgbImage, matrix: readonly number[]): RgbImage {
  const { width: w, height: h } = img;
  const theta = matrix.map(f32);
  const halfW = f32(0.5 * w);
  const halfH = f32(0.5 * h);
  // rescaled_theta = theta.T / [0.5 w, 0.5 h]: column 0 feeds x, column 1 feeds y.
  const rx = [f32((theta[0] as number) / halfW), f32((theta[1] as number) / halfW), f32((theta[2] as number) / halfW)];
  const ry = [f32((theta[3] as number) / halfH), f32((theta[4] as number) / halfH), f32((theta[5] as number) / halfH)];
  const scaleX = f32(w / 2);
  const scaleY = f32(h / 2);
  const out = new Uint8Array(img.data.length);
  const src = img.data;
  // The products bx·r and by·r depend on one coordinate each: tabulate them (same float32 values).
  const colX = new Float32Array(w);
  const colY = new Float32Array(w);
  for (let ox = 0; ox < w; ox++) {
    const bx = f32(-w * 0.5 + 0.5 + ox);
    colX[ox] = bx * (rx[0] as number);
    colY[ox] = bx * (ry[0] as number);
  }
  const rx2 = rx[2] as number;
  const ry2 = ry[2] as number;
  for (let oy = 0; oy < h; oy++) {
    const by = f32(-h * 0.5 + 0.5 + oy);
    const rowX = f32(by * (rx[1] as number));
    const rowY = f32(by * (ry[1] as number));
    for (let ox = 0; ox < w; ox++) {
      const gx = f32(f32((colX[ox] as number) + rowX) + rx2);
      const gy = f32(f32((colY[ox] as number) + rowY) + ry2);
      // unnormalize (align_corners=False): ((g + 1)·size − 1)/2, as the kernel's fused (g + 1)·(size/2) − 0.5
      const ix = f32(f32(gx + 1) * scaleX - 0.5);
      const iy = f32(f32(gy + 1) * scaleY - 0.5);
      const x0 = Math.floor(ix);
      const y0 = Math.floor(iy);
      const we = f32(ix - x0);
      const ww = f32(1 - we);
      const ns = f32(iy - y0);
      const nn = f32(1 - ns);
      const wNW = f32(nn * ww);
      const wNE = f32(nn * we);
      const wSW = f32(ns * ww);
      const wSE = f32(ns * we);
      const o = (oy * w + ox) * 3;
      if (x0 >= 0 && x0 + 1 < w && y0 >= 0 && y0 + 1 < h) {
        const pNW = (y0 * w + x0) * 3;
        const pSW = pNW + w * 3;
        for (let c = 0; c < 3; c++) {
          // nw·wNW, then three fused multiply-adds, in the kernel's order
          const v = f32((src[pSW + 3 + c] as number) * wSE + f32((src[pSW + c] as number) * wSW + f32((src[pNW + 3 + c] as number) * wNE + f32((src[pNW + c] as number) * wNW))));
          out[o + c] = roundHalfEven(v);
        }
        continue;
      }
      // At the border, corners outside the image read zeros (padding_mode="zeros"); -1 marks them.
      const inX0 = x0 >= 0 && x0 < w;
      const inX1 = x0 + 1 >= 0 && x0 + 1 < w;
      const inY0 = y0 >= 0 && y0 < h;
      const inY1 = y0 + 1 >= 0 && y0 + 1 < h;
      const pNW = inX0 && inY0 ? (y0 * w + x0) * 3 : -1;
      const pNE = inX1 && inY0 ? (y0 * w + x0 + 1) * 3 : -1;
      const pSW = inX0 && inY1 ? ((y0 + 1) * w + x0) * 3 : -1;
      const pSE = inX1 && inY1 ? ((y0 + 1) * w + x0 + 1) * 3 : -1;
      for (let c = 0; c < 3; c++) {
        const nw = pNW >= 0 ? (src[pNW + c] as number) : 0;
        const ne = pNE >= 0 ? (src[pNE + c] as number) : 0;
        const sw = pSW >= 0 ? (src[pSW + c] as number) : 0;
        const se = pSE >= 0 ? (src[pSE + c] as number) : 0;
        const v = f32(se * wSE + f32(sw * wSW + f32(ne * wNE + f32(nw * wNW))));
        out[o + c] = truncClampU8(roundHalfEven(v));
      }
    }
  }
  return { width: w, height: h, data: out };
}

export function shearX(img: RgbImage, magnitude: number): RgbImage {
  const shear = Math.atan(magnitude) * RAD_TO_DEG;
  return affineBilinear(img, inverseAffineMatrix([-img.width * 0.5, -img.height * 0.5], 0, [0, 0], 1, [shear, 0]));
}

export function shearY(img: RgbImage, magnitude: number): RgbImage {
  const shear = Math.atan(magnitude) * RAD_TO_DEG;
  return affineBilinear(img, inverseAffineMatrix([-img.width * 0.5, -img.height * 0.5], 0, [0, 0], 1, [0, shear]));
}

export function translate(img: RgbImage, dx: number, dy: number): RgbImage {
  return affineBilinear(img, inverseAffineMatrix([0, 0], 0, [Math.trunc(dx), Math.trunc(dy)], 1, [0, 0]));
}

export function rotate(img: RgbImage, degrees: number): RgbImage {
  // F.rotate passes −angle to the matrix builder (torchvision's angle conventions differ between the two).
  return affineBilinear(img, inverseAffineMatrix([0, 0], -degrees, [0, 0], 1, [0, 0]));
}

export const AUGMIX_OP_NAMES = [
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
  'Rotate',
  'Posterize',
  'Solarize',
  'AutoContrast',
  'Equalize',
  'Brightness',
  'Color',
  'Contrast',
  'Sharpness',
] as const;
export type AugmixOpName = (typeof AUGMIX_OP_NAMES)[number];

/** `_apply_op(img, op_name, magnitude)` with AugMix's settings (bilinear, fill=None). */
export function applyOp(img: RgbImage, op: AugmixOpName, magnitude: number): RgbImage {
  switch (op) {
    case 'ShearX':
      return shearX(img, magnitude);
    case 'ShearY':
      return shearY(img, magnitude);
    case 'TranslateX':
      return translate(img, magnitude, 0);
    case 'TranslateY':
      return translate(img, 0, magnitude);
    case 'Rotate':
      return rotate(img, magnitude);
    case 'Brightness':
      return adjustBrightness(img, 1 + magnitude);
    case 'Color':
      return adjustSaturation(img, 1 + magnitude);
    case 'Contrast':
      return adjustContrast(img, 1 + magnitude);
    case 'Sharpness':
      return adjustSharpness(img, 1 + magnitude);
    case 'Posterize':
      return posterize(img, Math.trunc(magnitude));
    case 'Solarize':
      return solarize(img, magnitude);
    case 'AutoContrast':
      return autocontrast(img);
    case 'Equalize':
      return equalize(img);
  }
}
