import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { LossContext } from '../../src/losses/types.js';
import { readNpy } from './npy.js';

export const LOSS_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'losses');

export interface GoldenInput {
  name: string;
  views: number;
  classes: number;
  n_aug: number;
  n_patches: number;
  file: string;
}

export interface GoldenCase {
  name: string;
  loss: string;
  input: string;
  ctx: LossContext;
  value: number;
  grad: string;
  grad_nonzero_rows: number;
  /** ‖g_f32 − g_f64‖/‖g_f64‖ of torch's own gradient: the float32 conditioning of this case. */
  grad_f32_vs_f64_rel_l2: number;
  diagnostics?: {
    group_entropies: number[];
    group_classes: number[];
    mode_ties: number;
    weighted_most_frequent_class: number;
  };
}

export interface GoldenSelection {
  input: string;
  p: number;
  entropies: number[];
  indices: number[];
  avg_entropy: number;
  grad: string;
}

export interface GoldenAdamW {
  name: string;
  shape: number[];
  options: { lr?: number; betas?: [number, number]; eps?: number; weight_decay?: number };
  initial: number[];
  grads: number[][];
  after_each_step: number[][];
}

export interface LossGoldens {
  inputs: GoldenInput[];
  cases: GoldenCase[];
  selection: GoldenSelection[];
  adamw: GoldenAdamW[];
}

export function loadLossGoldens(): LossGoldens {
  return JSON.parse(readFileSync(join(LOSS_FIXTURES, 'goldens.json'), 'utf8')) as LossGoldens;
}

/** The committed logits of one golden input as a [V, C] tensor (the caller disposes it). */
export function inputLogits(goldens: LossGoldens, name: string): tf.Tensor2D {
  const input = goldens.inputs.find((i) => i.name === name);
  if (!input) throw new Error(`no golden input ${name}`);
  const npy = readNpy(join(LOSS_FIXTURES, input.file));
  return tf.tensor2d(npy.data as Float32Array, [input.views, input.classes]);
}

export function goldenArray(file: string): Float32Array {
  return readNpy(join(LOSS_FIXTURES, file)).data as Float32Array;
}

/**
 * Largest element-wise error relative to max(1, |expected|), and the relative L2 error of the whole array
 * (which catches a wrong gradient even where all its entries are small).
 */
export function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>): { maxError: number; relativeL2: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  let maxError = 0;
  let diffSq = 0;
  let normSq = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const d = (actual[i] as number) - e;
    maxError = Math.max(maxError, Math.abs(d) / Math.max(1, Math.abs(e)));
    diffSq += d * d;
    normSq += e * e;
  }
  return { maxError, relativeL2: normSq > 0 ? Math.sqrt(diffSq / normSq) : Math.sqrt(diffSq) };
}
