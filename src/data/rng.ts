/**
 * Seeded random streams for everything random in a run (dataset order, subsets, view sampling, AugMix).
 *
 * The generator is pure-rand's xoroshiro128+; the distributions below are built on its uniform outputs so
 * that a stream is a pure function of its seed: the same numbers in every process, worker thread and
 * platform (only integer arithmetic and IEEE-754 double operations that JavaScript specifies exactly, plus
 * Math.log/exp/sqrt/cos/pow on the way to normals and gammas).
 *
 * Seeding (the 128-bit xoroshiro state is four 32-bit words, filled by hashing):
 * - word k (k = 0..3) = fmix32(FNV-1a-32(bytes)), where bytes =
 *       [k] ++ seed as 8 bytes little-endian (64-bit two's complement) ++ tag ++ UTF-8(identity);
 *   FNV-1a is the 32-bit variant (offset basis 0x811c9dc5, prime 0x01000193) and fmix32 is murmur3's
 *   finaliser (avalanche). The words are handed to pure-rand's `xoroshiro128plusFromState` in that order.
 * - `Rng.fromSeed(seed)`: tag [0xfe], empty identity. (pure-rand's own `xoroshiro128plus(seed)` is not used:
 *   its first outputs for small seeds are nearly constant, e.g. -1, -65537 for seed 0.)
 * - `Rng.forSample(seed, identity)`: tag [0xff]. Each sample gets its own independent stream, so its views
 *   do not depend on processing order or on the number of workers. The identity is whatever names a sample
 *   stably, e.g. its path relative to the dataset root, or an image's basename for `tpt preview`.
 * - `Rng.named(seed, name)`: tag [0xfd]: a stream for one named use of the seed, apart from every sample's
 *   (the random initial prompt context, so every engine starts from the same one).
 * - An all-zero state (which xoroshiro cannot leave) would be replaced by `xoroshiro128plus(0)`; with
 *   fmix32 (a bijection) it needs four hash collisions on 0 and is not expected to occur.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { TptError } from '../errors.js';

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv1a32(bytes: Uint8Array): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash;
}

/** murmur3 fmix32: spreads FNV's weak low-bit mixing over all 32 bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) {
    throw new TptError('CONFIG_INVALID', `Seed ${String(seed)} is not an integer.`, {
      hint: 'Use an integer seed, e.g. seed: 0 in the config or --set seed=0.',
    });
  }
}

/** The integer's 64-bit two's complement as [low, high] 32-bit words (exact for safe integers). */
function seedWords(seed: number): [number, number] {
  const big = BigInt.asUintN(64, BigInt(seed));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

export class Rng {
  private constructor(private readonly generator: JumpableRandomGenerator) {}

  static fromSeed(seed: number): Rng {
    return Rng.hashed(seed, 0xfe, '');
  }

  static forSample(seed: number, identity: string): Rng {
    return Rng.hashed(seed, 0xff, identity);
  }

  /** A stream of its own for one named use of the run's seed (e.g. the random prompt context). */
  static named(seed: number, name: string): Rng {
    return Rng.hashed(seed, 0xfd, name);
  }

  private static hashed(seed: number, tag: number, identity: string): Rng {
    checkSeed(seed);
    const [low, high] = seedWords(seed);
    const idBytes = new TextEncoder().encode(identity);
    const message = new Uint8Array(1 + 8 + 1 + idBytes.length);
    const view = new DataView(message.buffer);
    view.setUint32(1, low, true);
    view.setUint32(5, high, true);
    message[9] = tag;
    message.set(idBytes, 10);
    const state: number[] = [];
    for (let k = 0; k < 4; k++) {
      message[0] = k;
      state.push(fmix32(fnv1a32(message)) | 0);
    }
    if (state.every((w) => w === 0)) return new Rng(xoroshiro128plus(0));
    return new Rng(xoroshiro128plusFromState(state));
  }

  /** An independent copy that continues the same stream from here. */
  clone(): Rng {
    return new Rng(this.generator.clone());
  }

  /** Uniform in [0, 1), a multiple of 2^-53. */
  nextFloat(): number {
    return uniformFloat64(this.generator);
  }

  /** Uniform integer in [lo, hiInclusive], without modulo bias. */
  nextInt(lo: number, hiInclusive: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hiInclusive) || hiInclusive < lo) {
      throw new RangeError(`nextInt: bad range [${lo}, ${hiInclusive}]`);
    }
    return uniformInt(this.generator, lo, hiInclusive);
  }

  /** Uniform in [a, b) (as torch's `uniform_(a, b)`). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.nextFloat();
  }

  /**
   * Standard normal by Box–Muller, one output per two uniforms and no cached spare, so a stream's state is
   * only the generator's.
   */
  normal(): number {
    const u1 = 1 - this.nextFloat(); // (0, 1]: log stays finite
    const u2 = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Gamma(shape, 1) by Marsaglia–Tsang; shape < 1 uses Gamma(shape + 1)·U^(1/shape). */
  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) {
      const u = 1 - this.nextFloat();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.nextFloat();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }

  /** Dirichlet(alphas): normalised independent gammas. */
  dirichlet(alphas: readonly number[]): number[] {
    if (alphas.length === 0) throw new RangeError('dirichlet: needs at least one alpha');
    const draws = alphas.map((a) => this.gamma(a));
    const total = draws.reduce((s, g) => s + g, 0);
    return draws.map((g) => g / total);
  }

  /** Fisher–Yates; returns a new array and leaves the input untouched. */
  shuffle<T>(array: readonly T[]): T[] {
    const out = array.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.nextInt(0, i);
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** A raw signed 32-bit output of the generator (for seeding other generators). */
  nextInt32(): number {
    return this.generator.next();
  }
}
