import { describe, expect, it } from 'vitest';
import { AUGMIX_OP_NAMES, applyOp, type AugmixOpName } from '../../src/data/augmix-ops.js';
import { applyAugmix, augmentationSpace, augmix, sampleAugmix, type AugmixDraw } from '../../src/data/augmix.js';
import type { RgbImage } from '../../src/data/image.js';
import { Rng } from '../../src/data/rng.js';
import { loadGoldens, loadU8 } from './golden-helpers.js';

// Goldens: torchvision 0.14's `_apply_op` and AugMix mixing on the uint8 tensor (make_view_goldens.py).
const goldens = loadGoldens().augmix;

function chwToImage(data: Uint8Array, h: number, w: number): RgbImage {
  const out = new Uint8Array(h * w * 3);
  for (let c = 0; c < 3; c++) for (let p = 0; p < h * w; p++) out[p * 3 + c] = data[c * h * w + p] as number;
  return { width: w, height: h, data: out };
}

function imageToChw(img: RgbImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) for (let p = 0; p < n; p++) out[c * n + p] = img.data[p * 3 + c] as number;
  return out;
}

function diffStats(a: Uint8Array, b: Uint8Array): { max: number; differing: number } {
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (d > 0) differing++;
    if (d > max) max = d;
  }
  return { max, differing };
}

const S = goldens.size as number;
const input = chwToImage(loadU8(goldens.input).data, S, S);
const GEOMETRIC = new Set<AugmixOpName>(['ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate']);

describe('AugMix operations match torchvision exactly', () => {
  it('uses torchvision magnitude tables (linspace in float32, posterize bits)', () => {
    const ours = augmentationSpace(S, S);
    for (const [name, [mags, signed]] of Object.entries(goldens.tables as Record<string, [number[] | null, boolean]>)) {
      const mine = ours[name as AugmixOpName];
      expect(mine.signed, name).toBe(signed);
      expect(mine.magnitudes, name).toEqual(mags);
    }
    expect(Object.keys(ours)).toEqual(Object.keys(goldens.tables));
    expect([...AUGMIX_OP_NAMES]).toEqual(Object.keys(goldens.tables));
  });

  it('each op at fixed magnitudes (geometric ops: at most one level on rare float ties)', () => {
    const outs = loadU8(goldens.ops_out);
    const per = 3 * S * S;
    expect(goldens.ops.length).toBeGreaterThan(30);
    for (const c of goldens.ops as Array<{ op: AugmixOpName; magnitude: number; index: number }>) {
      const ours = imageToChw(applyOp(input, c.op, c.magnitude));
      const theirs = outs.data.subarray(c.index * per, (c.index + 1) * per);
      const { max, differing } = diffStats(ours, theirs);
      if (GEOMETRIC.has(c.op)) {
        expect(max, `${c.op} ${c.magnitude}`).toBeLessThanOrEqual(1);
        expect(differing / per, `${c.op} ${c.magnitude}`).toBeLessThan(0.002);
      } else {
        expect(max, `${c.op} ${c.magnitude}`).toBe(0);
      }
    }
  });

  it('degenerate inputs: flat channels for autocontrast, equalize, sharpness, contrast', () => {
    const flat = chwToImage(loadU8(goldens.flat_input).data, 8, 8);
    for (const c of goldens.flat as Array<{ op: AugmixOpName; magnitude: number; out: string }>) {
      expect(imageToChw(applyOp(flat, c.op, c.magnitude)), c.op).toEqual(loadU8(c.out).data);
    }
  });

  it('mixes chains with fixed weights in float32 and truncates to uint8', () => {
    for (const c of goldens.mix as Array<{ m: [number, number]; weights: number[]; chains: [AugmixOpName, number][][]; out: string }>) {
      const draw: AugmixDraw = {
        m: c.m,
        weights: c.weights,
        chains: c.chains.map((chain) => chain.map(([op, magnitude]) => ({ op, magnitude }))),
      };
      const geometric = draw.chains.some((ch) => ch.some((o) => GEOMETRIC.has(o.op)));
      const { max, differing } = diffStats(imageToChw(applyAugmix(input, draw)), loadU8(c.out).data);
      expect(max).toBeLessThanOrEqual(geometric ? 1 : 0);
      expect(differing / (3 * S * S)).toBeLessThan(0.002);
    }
  });
});

describe('AugMix random draws', () => {
  it('draw structure follows torchvision: depth U{1,2,3}, ops uniform, bins < severity, signs fair', () => {
    const rng = Rng.fromSeed(11);
    const severity = 3;
    const space = augmentationSpace(S, S);
    const depthCounts = [0, 0, 0];
    const opCounts = new Map<string, number>();
    let negatives = 0;
    let signedTotal = 0;
    let badWeights = 0;
    let badChains = 0;
    let badMagnitudes = 0;
    const n = 1500;
    for (let k = 0; k < n; k++) {
      const draw = sampleAugmix(rng, severity, S, S);
      if (Math.abs(draw.m[0] + draw.m[1] - 1) > 1e-12 || Math.abs(draw.weights.reduce((a, b) => a + b, 0) - 1) > 1e-12) badWeights++;
      if (draw.chains.length !== 3) badChains++;
      for (const chain of draw.chains) {
        depthCounts[chain.length - 1]! += 1;
        for (const { op, magnitude } of chain) {
          opCounts.set(op, (opCounts.get(op) ?? 0) + 1);
          const { magnitudes, signed } = space[op];
          if (magnitudes === null) {
            if (magnitude !== 0) badMagnitudes++;
            continue;
          }
          if (!magnitudes.slice(0, severity).includes(signed ? Math.abs(magnitude) : magnitude)) badMagnitudes++;
          if (signed && magnitude !== 0) {
            signedTotal++;
            if (magnitude < 0) negatives++;
          }
        }
      }
    }
    expect([badWeights, badChains, badMagnitudes]).toEqual([0, 0, 0]);
    for (const c of depthCounts) expect(Math.abs(c / (3 * n) - 1 / 3)).toBeLessThan(0.02);
    const totalOps = [...opCounts.values()].reduce((a, b) => a + b, 0);
    expect(opCounts.size).toBe(13);
    for (const c of opCounts.values()) expect(Math.abs(c / totalOps - 1 / 13)).toBeLessThan(0.015);
    expect(Math.abs(negatives / signedTotal - 0.5)).toBeLessThan(0.04);
  });

  it('changes images about as much as torchvision AugMix does (mean |out − in| per run)', () => {
    for (const [severity, ref] of Object.entries(goldens.stats as Record<string, { runs: number; mean: number; std: number; q50: number }>)) {
      const rng = Rng.fromSeed(100 + Number(severity));
      const diffs: number[] = [];
      for (let k = 0; k < 200; k++) {
        const out = augmix(input, Number(severity), rng);
        let sum = 0;
        for (let i = 0; i < out.data.length; i++) sum += Math.abs((out.data[i] as number) - (input.data[i] as number));
        diffs.push(sum / out.data.length);
      }
      const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
      // Two-sample difference of means: allow 4 standard errors.
      const se = Math.sqrt((ref.std ** 2) / ref.runs + (ref.std ** 2) / diffs.length);
      expect(Math.abs(mean - ref.mean), `severity ${severity}: ours ${mean}, torchvision ${ref.mean}`).toBeLessThan(4 * se);
    }
  });
});
