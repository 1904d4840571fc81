/**
 * Synthetic photographs for the demo dataset: a gradient background, a few filled shapes and sensor-like
 * noise, all drawn from a seeded stream so the same seed gives the same pixels on every machine.
 *
 * Each class gets its own favourite shape and palette, so the images of one class look alike; that is only
 * to make the demo's folders pleasant to browse. The demo's model has random weights and learns nothing
 * from them.
 */
import { Rng } from '../data/rng.js';

export type ShapeKind = 'disc' | 'box' | 'triangle' | 'ring' | 'stripes';

export const SHAPE_KINDS: readonly ShapeKind[] = ['disc', 'box', 'triangle', 'ring', 'stripes'];

export interface SyntheticImageSpec {
  width: number;
  height: number;
  /** The shape drawn most often in this image (the class's motif). */
  motif: ShapeKind;
  /** Base hue of the palette in [0, 1). */
  hue: number;
}

type Rgb = [number, number, number];

/** HSV (all in [0, 1]) to 8-bit RGB. */
function hsvToRgb(h: number, s: number, v: number): Rgb {
  const i = Math.floor(h * 6) % 6;
  const f = h * 6 - Math.floor(h * 6);
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const table: Rgb[] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  const rgb = table[i] ?? [v, v, v];
  return [Math.round(rgb[0] * 255), Math.round(rgb[1] * 255), Math.round(rgb[2] * 255)];
}

function paletteColour(rng: Rng, hue: number): Rgb {
  const h = (hue + rng.uniform(-0.08, 0.08) + 1) % 1;
  return hsvToRgb(h, rng.uniform(0.4, 1), rng.uniform(0.35, 1));
}

/** Whether pixel (x, y) lies inside the shape; coordinates are relative to the shape's centre. */
function insideShape(kind: ShapeKind, dx: number, dy: number, r: number, angle: number): boolean {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const u = c * dx + s * dy; // rotated coordinates, so boxes and stripes are not all axis-aligned
  const v = -s * dx + c * dy;
  switch (kind) {
    case 'disc':
      return dx * dx + dy * dy <= r * r;
    case 'ring': {
      const d2 = dx * dx + dy * dy;
      return d2 <= r * r && d2 >= 0.45 * r * r;
    }
    case 'box':
      return Math.abs(u) <= r && Math.abs(v) <= 0.6 * r;
    case 'triangle':
      // apex up in the rotated frame: inside when below both slanted edges and above the base
      return v <= 0.5 * r && v >= -r + 1.7 * Math.abs(u);
    case 'stripes':
      return Math.abs(u) <= r && Math.abs(v) <= r && Math.floor((u + r) / Math.max(2, r / 3)) % 2 === 0;
  }
}

/**
 * Draws one image as interleaved 8-bit RGB, row-major ([height, width, 3]).
 * Pixel values depend only on the spec and the stream.
 */
export function drawSyntheticImage(spec: SyntheticImageSpec, rng: Rng): Uint8Array {
  const { width, height } = spec;
  const pixels = new Uint8Array(width * height * 3);

  // Background: a linear gradient between two colours along a random direction.
  const from = paletteColour(rng, (spec.hue + 0.5) % 1);
  const to = paletteColour(rng, (spec.hue + 0.35) % 1);
  const theta = rng.uniform(0, 2 * Math.PI);
  const gx = Math.cos(theta);
  const gy = Math.sin(theta);
  const span = Math.abs(gx) * width + Math.abs(gy) * height;
  const offset = Math.min(0, gx * width) + Math.min(0, gy * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (gx * x + gy * y - offset) / span;
      const o = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) pixels[o + ch] = Math.round((from[ch] as number) * (1 - t) + (to[ch] as number) * t);
    }
  }

  // Shapes: mostly the class's motif, sometimes another one.
  const shapes = rng.nextInt(2, 5);
  const minSide = Math.min(width, height);
  for (let k = 0; k < shapes; k++) {
    const kind = rng.bernoulli(0.7) ? spec.motif : (SHAPE_KINDS[rng.nextInt(0, SHAPE_KINDS.length - 1)] as ShapeKind);
    const colour = paletteColour(rng, spec.hue);
    const r = rng.uniform(0.12, 0.4) * minSide;
    const cx = rng.uniform(0, width);
    const cy = rng.uniform(0, height);
    const angle = rng.uniform(0, Math.PI);
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(width - 1, Math.ceil(cx + r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(height - 1, Math.ceil(cy + r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if (!insideShape(kind, x - cx, y - cy, r, angle)) continue;
        const o = (y * width + x) * 3;
        pixels[o] = colour[0];
        pixels[o + 1] = colour[1];
        pixels[o + 2] = colour[2];
      }
    }
  }

  // Noise: zero-mean, a few levels, clamped to the 8-bit range.
  const sigma = rng.uniform(2, 10);
  for (let i = 0; i < pixels.length; i++) {
    const noisy = (pixels[i] as number) + sigma * rng.normal();
    pixels[i] = Math.max(0, Math.min(255, Math.round(noisy)));
  }
  return pixels;
}
