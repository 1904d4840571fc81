import { readFileSync } from 'node:fs';
import { decodeNpy } from '../../src/data/npy.js';

export const VIEWS_DIR = new URL('../fixtures/views/', import.meta.url);

export function fixturePath(name: string): string {
  return new URL(name, VIEWS_DIR).pathname;
}

export function loadGoldens(): any {
  return JSON.parse(readFileSync(new URL('goldens.json', VIEWS_DIR), 'utf8'));
}

export function loadU8(name: string): { shape: number[]; data: Uint8Array } {
  const arr = decodeNpy(readFileSync(fixturePath(name)), name);
  if (arr.dtype !== 'uint8') throw new Error(`${name}: expected uint8`);
  return arr;
}

export interface Agreement {
  meanAbs: number;
  fracOver1_5: number;
  maxAbs: number;
}

export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): Agreement {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let sum = 0;
  let over = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    sum += d;
    if (d > 1.5) over++;
    if (d > max) max = d;
  }
  return { meanAbs: sum / a.length, fracOver1_5: over / a.length, maxAbs: max };
}
