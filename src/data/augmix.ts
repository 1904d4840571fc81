/**
 * torchvision 0.14 `transforms.AugMix(severity)` with its defaults (mixture_width 3, chain_depth −1 → U{1,2,3},
 * alpha 1, all_ops True, interpolation BILINEAR, fill None) on a uint8 image, as the seed applies it.
 *
 * The random draws follow torchvision's order and distributions (Dirichlet(1,1) for the original/augmented
 * split, Dirichlet(1,1,1) for the chain weights, then per chain its depth, and per op its index, magnitude bin
 * and sign) but come from our seeded Rng; torch's generator cannot be replayed. The mixing is float32 as in
 * torch, and the final cast to uint8 truncates.
 */
import { applyOp, AUGMIX_OP_NAMES, type AugmixOpName } from './augmix-ops.js';
import type { RgbImage } from './image.js';
import type { Rng } from './rng.js';

const f32 = Math.fround;
const NUM_BINS = 10; // AugMix's _PARAMETER_MAX
const MIXTURE_WIDTH = 3;

/** torch.linspace(start, end, steps) in float32, using the CPU kernel's two-sided formula. */
export function linspaceF32(start: number, end: number, steps: number): number[] {
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  return Array.from({ length: steps }, (_, i) =>
    i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (steps - i - 1))),
  );
}

export interface OpSpace {
  /** Magnitude per bin (float32 values), or null for ops without a magnitude. */
  magnitudes: number[] | null;
  signed: boolean;
}

const spaceCache = new Map<string, Record<AugmixOpName, OpSpace>>();

/** `AugMix._augmentation_space(10, (height, width))`, in torchvision's key order. */
export function augmentationSpace(height: number, width: number): Record<AugmixOpName, OpSpace> {
  const key = `${height}x${width}`;
  const cached = spaceCache.get(key);
  if (cached) return cached;
  const space = buildAugmentationSpace(height, width);
  spaceCache.set(key, space);
  return space;
}

function buildAugmentationSpace(height: number, width: number): Record<AugmixOpName, OpSpace> {
  // Posterize: 4 − round(arange(10) / (9/4)) → [4, 4, 3, 3, 2, 2, 1, 1, 0, 0]
  const posterize = Array.from({ length: NUM_BINS }, (_, i) => 4 - Math.round(f32(i / f32((NUM_BINS - 1) / 4))));
  return {
    ShearX: { magnitudes: linspaceF32(0, 0.3, NUM_BINS), signed: true },
    ShearY: { magnitudes: linspaceF32(0, 0.3, NUM_BINS), signed: true },
    TranslateX: { magnitudes: linspaceF32(0, width / 3, NUM_BINS), signed: true },
    TranslateY: { magnitudes: linspaceF32(0, height / 3, NUM_BINS), signed: true },
    Rotate: { magnitudes: linspaceF32(0, 30, NUM_BINS), signed: true },
    Posterize: { magnitudes: posterize, signed: false },
    Solarize: { magnitudes: linspaceF32(255, 0, NUM_BINS), signed: false },
    AutoContrast: { magnitudes: null, signed: false },
    Equalize: { magnitudes: null, signed: false },
    Brightness: { magnitudes: linspaceF32(0, 0.9, NUM_BINS), signed: true },
    Color: { magnitudes: linspaceF32(0, 0.9, NUM_BINS), signed: true },
    Contrast: { magnitudes: linspaceF32(0, 0.9, NUM_BINS), signed: true },
    Sharpness: { magnitudes: linspaceF32(0, 0.9, NUM_BINS), signed: true },
  };
}

export type AugmixChain = Array<{ op: AugmixOpName; magnitude: number }>;

/** Every random choice of one AugMix call. */
export interface AugmixDraw {
  /** [weight of the original, weight of the augmented mixture], as drawn (Dirichlet(1, 1)). */
  m: [number, number];
  /** Chain weights before scaling by m[1] (Dirichlet(1, 1, 1)). */
  weights: number[];
  chains: AugmixChain[];
}

export function sampleAugmix(rng: Rng, severity: number, height: number, width: number): AugmixDraw {
  if (!Number.isInteger(severity) || severity < 1 || severity > NUM_BINS) {
    throw new RangeError(`AugMix severity must be an integer in [1, ${NUM_BINS}], got ${severity}`);
  }
  const space = augmentationSpace(height, width);
  const m = rng.dirichlet([1, 1]) as [number, number];
  const weights = rng.dirichlet(new Array<number>(MIXTURE_WIDTH).fill(1));
  const chains: AugmixChain[] = [];
  for (let i = 0; i < MIXTURE_WIDTH; i++) {
    const depth = rng.nextInt(1, 3);
    const chain: AugmixChain = [];
    for (let d = 0; d < depth; d++) {
      const op = AUGMIX_OP_NAMES[rng.nextInt(0, AUGMIX_OP_NAMES.length - 1)] as AugmixOpName;
      const { magnitudes, signed } = space[op];
      let magnitude = magnitudes === null ? 0 : (magnitudes[rng.nextInt(0, severity - 1)] as number);
      if (signed && rng.bernoulli(0.5)) magnitude = -magnitude;
      chain.push({ op, magnitude });
    }
    chains.push(chain);
  }
  return { m, weights, chains };
}

/** AugMix's forward for given draws: mix = m0·x + Σ (w_i·m1)·chain_i(x) in float32, truncated to uint8. */
export function applyAugmix(img: RgbImage, draw: AugmixDraw): RgbImage {
  // torch keeps the sampled weights as float32 tensors.
  const m0 = f32(draw.m[0]);
  const m1 = f32(draw.m[1]);
  const combined = draw.weights.map((w) => f32(f32(w) * m1));
  const mix = new Float32Array(img.data.length);
  for (let i = 0; i < mix.length; i++) mix[i] = m0 * (img.data[i] as number);
  draw.chains.forEach((chain, k) => {
    let aug = img;
    for (const { op, magnitude } of chain) aug = applyOp(aug, op, magnitude);
    const w = combined[k] as number;
    for (let i = 0; i < mix.length; i++) mix[i] = (mix[i] as number) + f32(w * (aug.data[i] as number));
  });
  const out = new Uint8Array(mix.length);
  for (let i = 0; i < out.length; i++) {
    const v = mix[i] as number;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return { width: img.width, height: img.height, data: out };
}

export function augmix(img: RgbImage, severity: number, rng: Rng): RgbImage {
  return applyAugmix(img, sampleAugmix(rng, severity, img.height, img.width));
}
