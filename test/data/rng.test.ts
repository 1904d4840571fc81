import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/data/rng.js';

function draws(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.nextFloat());
}

function meanVar(xs: number[]): [number, number] {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
  return [m, v];
}

const PINNED_SAMPLE = [1331457112, 509902570, 0];
const PINNED_SEED = [1555343898, -904746945];

describe('Rng', () => {
  it('is reproducible from the seed and differs across seeds and identities', () => {
    expect(draws(Rng.fromSeed(42), 5)).toEqual(draws(Rng.fromSeed(42), 5));
    expect(draws(Rng.fromSeed(42), 5)).not.toEqual(draws(Rng.fromSeed(43), 5));
    expect(draws(Rng.forSample(0, 'n01498041/0.jpg'), 5)).toEqual(draws(Rng.forSample(0, 'n01498041/0.jpg'), 5));
    expect(draws(Rng.forSample(0, 'a.jpg'), 5)).not.toEqual(draws(Rng.forSample(0, 'b.jpg'), 5));
    expect(draws(Rng.forSample(0, 'a.jpg'), 5)).not.toEqual(draws(Rng.forSample(1, 'a.jpg'), 5));
    expect(draws(Rng.forSample(2 ** 40, 'a.jpg'), 5)).not.toEqual(draws(Rng.forSample(0, 'a.jpg'), 5));
  });

  it('seeds forSample with the documented hash (first output = word1 + word3)', () => {
    const word = (k: number, seedBytes: number[], id: string): number => {
      const bytes = [k, ...seedBytes, 0xff, ...new TextEncoder().encode(id)];
      let h = 0x811c9dc5;
      for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
      h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
      return h | 0;
    };
    const seedBytes = [0x39, 0x30, 0, 0, 0, 0, 0, 0]; // 12345 little-endian
    const expected = (word(1, seedBytes, 'é/x.jpg') + word(3, seedBytes, 'é/x.jpg')) | 0;
    expect(Rng.forSample(12345, 'é/x.jpg').nextInt32()).toBe(expected);
  });

  it('pins concrete values, so another process or worker thread gets the same stream', () => {
    // Values computed once; they depend only on pure-rand's xoroshiro128+ and the hash above.
    const r = Rng.forSample(0, 'n01498041/0.000116.jpg');
    expect([r.nextInt32(), r.nextInt32(), r.nextInt(0, 99)]).toEqual(PINNED_SAMPLE);
    const f = Rng.fromSeed(0);
    expect([f.nextInt32(), f.nextInt32()]).toEqual(PINNED_SEED);
  });

  it('gives the same stream inside a worker thread', async () => {
    const rngUrl = new URL('../../dist/data/rng.js', import.meta.url);
    if (!existsSync(rngUrl)) return; // dist/ is built by `npm test`; the pinned values above still apply
    const script = `
      const { parentPort } = await import('node:worker_threads');
      const { Rng } = await import(${JSON.stringify(rngUrl.href)});
      const r = Rng.forSample(7, 'x/y.png');
      parentPort.postMessage([r.nextFloat(), r.nextFloat(), r.normal(), r.gamma(1)]);`;
    const fromWorker = await new Promise<unknown>((resolve, reject) => {
      const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(script)}`));
      w.once('message', (m) => { resolve(m); void w.terminate(); });
      w.once('error', reject);
    });
    const r = Rng.forSample(7, 'x/y.png');
    expect(fromWorker).toEqual([r.nextFloat(), r.nextFloat(), r.normal(), r.gamma(1)]);
  });

  it('nextInt covers its inclusive range uniformly', () => {
    const rng = Rng.fromSeed(1);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[rng.nextInt(1, 6) - 1]! += 1;
    const chi2 = counts.reduce((s, c) => s + (c - 10000) ** 2 / 10000, 0);
    expect(chi2).toBeLessThan(20.5); // chi2(5) 99.9% quantile
  });

  it('normal, gamma, beta and dirichlet have the right moments', () => {
    const rng = Rng.fromSeed(3);
    const n = 20000;
    const [nm, nv] = meanVar(Array.from({ length: n }, () => rng.normal()));
    expect(Math.abs(nm)).toBeLessThan(0.03);
    expect(Math.abs(nv - 1)).toBeLessThan(0.05);
    for (const k of [0.5, 1, 3.5]) {
      const [gm, gv] = meanVar(Array.from({ length: n }, () => rng.gamma(k)));
      expect(Math.abs(gm - k)).toBeLessThan(0.05 * Math.max(1, k));
      expect(Math.abs(gv - k)).toBeLessThan(0.1 * Math.max(1, k));
    }
    const [bm, bv] = meanVar(Array.from({ length: n }, () => rng.beta(1, 1)));
    expect(Math.abs(bm - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(bv - 1 / 12)).toBeLessThan(0.004);
    const d = Array.from({ length: n }, () => rng.dirichlet([1, 1, 1]));
    expect(Math.max(...d.map((w) => Math.abs(w.reduce((s, x) => s + x, 0) - 1)))).toBeLessThan(1e-12);
    const [dm, dv] = meanVar(d.map((w) => w[0]!));
    expect(Math.abs(dm - 1 / 3)).toBeLessThan(0.01);
    expect(Math.abs(dv - 1 / 18)).toBeLessThan(0.004); // Var = a(a0-a)/(a0^2(a0+1)) = 2/36
  });

  it('shuffle is a permutation, new array, uniform over positions; bernoulli has rate p', () => {
    const rng = Rng.fromSeed(5);
    const input = [0, 1, 2, 3];
    const first = new Array<number>(4).fill(0);
    let notPermutation = 0;
    for (let i = 0; i < 20000; i++) {
      const s = rng.shuffle(input);
      if ([...s].sort().join() !== '0,1,2,3') notPermutation++;
      first[s[0]!]! += 1;
    }
    expect(notPermutation).toBe(0);
    expect(input).toEqual([0, 1, 2, 3]);
    for (const c of first) expect(Math.abs(c - 5000)).toBeLessThan(300);
    let hits = 0;
    for (let i = 0; i < 20000; i++) if (rng.bernoulli(0.3)) hits++;
    expect(Math.abs(hits / 20000 - 0.3)).toBeLessThan(0.015);
  });

  it('rejects non-integer seeds', () => {
    expect(() => Rng.fromSeed(1.5)).toThrow(/integer/);
  });

  it('named streams are reproducible and apart from the run stream and every sample stream', () => {
    const draw = (rng: Rng) => Array.from({ length: 4 }, () => rng.nextFloat());
    expect(draw(Rng.named(7, 'prompt context'))).toEqual(draw(Rng.named(7, 'prompt context')));
    const named = draw(Rng.named(7, 'prompt context'));
    for (const other of [Rng.fromSeed(7), Rng.forSample(7, 'prompt context'), Rng.named(8, 'prompt context'), Rng.named(7, 'other')]) {
      expect(draw(other)).not.toEqual(named);
    }
  });
});
