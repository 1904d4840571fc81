import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

export const MODEL_FIXTURES = new URL('../fixtures/model/', import.meta.url).pathname;
export const TINY_CLIP = new URL('../fixtures/tiny-clip/', import.meta.url).pathname;

/** Reads a little-endian float32 .npy written by numpy (version 1/2 header, C order). */
export function readNpy(path: string): { data: Float32Array; shape: number[] } {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path} is not a .npy file`);
  const major = buf[6]!;
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', headerStart, headerStart + headerLength);
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) throw new Error(`${path}: expected C-order <f4, got ${header}`);
  const shapeText = /'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '';
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const start = headerStart + headerLength;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return { data, shape };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * The seed's defaultTPT_loss on a [N, C] logits tensor: keep the int(N·p) lowest-entropy rows
 * (select_confident_samples), then avg_entropy, the entropy of the mean softmax computed in log space.
 * Rows are chosen on the host and picked with a one-hot matMul (no gather gradient on wasm).
 */
export function tptEntropyLoss(logits: tf.Tensor2D, selectionP: number, selectedOut?: number[]): tf.Scalar {
  const [n, c] = logits.shape;
  const logProbs = (x: tf.Tensor2D) => tf.sub(x, tf.logSumExp(x, -1, true));
  const entropies = tf.tidy(() => {
    const lp = logProbs(logits);
    return tf.neg(tf.sum(tf.mul(tf.exp(lp), lp), 1)).dataSync();
  });
  const order = Array.from(entropies.keys()).sort((i, j) => entropies[i]! - entropies[j]! || i - j);
  const keep = order.slice(0, Math.floor(n * selectionP));
  selectedOut?.push(...keep);
  const pick = new Float32Array(keep.length * n);
  keep.forEach((row, i) => (pick[i * n + row] = 1));
  const selected = tf.matMul(tf.tensor2d(pick, [keep.length, n]), logits); // [k, N] × [N, C] → [k, C]
  const lp = logProbs(selected);
  const avg = tf.sub(tf.logSumExp(lp, 0), Math.log(keep.length)); // [C]
  void c;
  return tf.neg(tf.sum(tf.mul(avg, tf.exp(avg))));
}
