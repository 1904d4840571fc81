import * as tf from '@tensorflow/tfjs-core';
import { selectionCount } from './selection-count.js';

export { selectionCount } from './selection-count.js';

/**
 * The seed's confidence selection and marginal entropy (notebook §7.3), written so that gradients work on the
 * WebAssembly backend: that backend has no LogSoftmax kernel and no gradient for gather/gatherND, so
 * log-softmax is composed as x − logSumExp(x) and rows are picked by multiplying with a one-hot matrix built on
 * the host (matMul has a gradient everywhere; a 0/1 matrix product copies rows exactly in float32).
 */

/** log_softmax along `axis`, composed because the wasm backend lacks a LogSoftmax kernel. */
export function logSoftmax<T extends tf.Tensor>(x: T, axis = -1): T {
  return tf.tidy(() => tf.sub(x, tf.logSumExp(x, axis, true)) as T);
}

/**
 * Per-row entropy of softmax(logits), `-(softmax · log_softmax).sum(1)` as the seed computes it, read back to
 * the host. It only orders rows (torch.argsort returns indices, which carry no gradient), so reading it here,
 * even inside a gradient computation, changes nothing about the gradient.
 */
export function rowEntropies(logits: tf.Tensor2D): Float32Array {
  return tf.tidy(() => {
    const logProbs = logSoftmax(logits, 1);
    return tf.neg(tf.sum(tf.mul(tf.exp(logProbs), logProbs), 1)).dataSync() as Float32Array;
  });
}

/**
 * Indices that sort `values` ascending, as torch.argsort(values, descending=False).
 * Ties: bit-identical values keep their original order (lower index first, a stable sort). torch's CPU
 * argsort in 1.13 is documented as not stable, but entropies of distinct views are never bit-identical in
 * practice; duplicated views (identical rows) are the only case and then either row gives the same values
 * and the same gradient total.
 */
export function argsortAscending(values: ArrayLike<number>): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  // NaN sorts last, as torch does for ascending sorts.
  order.sort((a, b) => {
    const va = values[a] as number;
    const vb = values[b] as number;
    if (Number.isNaN(va) || Number.isNaN(vb)) return (Number.isNaN(va) ? 1 : 0) - (Number.isNaN(vb) ? 1 : 0) || a - b;
    return va - vb || a - b;
  });
  return order;
}

/** A [k, n] float32 matrix with a single 1 per row at column indices[r]; `selector @ x` picks rows of x. */
export function rowSelector(indices: readonly number[], n: number): tf.Tensor2D {
  const data = new Float32Array(indices.length * n);
  indices.forEach((column, row) => {
    data[row * n + column] = 1;
  });
  return tf.tensor2d(data, [indices.length, n]);
}

/** Indices of the int(N·p) lowest-entropy rows, in ascending entropy order (the seed's `idx`). */
export function confidentIndices(logits: tf.Tensor2D, p: number): number[] {
  const n = logits.shape[0];
  return argsortAscending(rowEntropies(logits)).slice(0, selectionCount(n, p));
}

/**
 * select_confident_samples(logits, top): the int(N·top) rows of lowest softmax entropy, lowest first.
 * The selection itself carries no gradient; the kept rows pass their gradient straight through, as
 * `logits[idx]` does in torch. When int(N·top) is 0 the result is an empty [0, C] tensor, as in the seed
 * (the loss registry refuses such configurations before a run).
 */
export function selectConfidentSamples(logits: tf.Tensor2D, p: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, classes] = logits.shape;
    const indices = confidentIndices(logits, p);
    if (indices.length === 0) return tf.zeros([0, classes]) as tf.Tensor2D;
    return tf.matMul(rowSelector(indices, n), logits);
  });
}

/** torch.finfo(torch.float32).min, the seed's clamp floor for the averaged log-probabilities. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * avg_entropy(outputs): entropy of the mean of the rows' softmax distributions, computed in log space as the
 * seed does — log_softmax per row, logsumexp over rows minus log N, clamp at the float32 minimum, then
 * −Σ p·log p. Returns a scalar that keeps its gradient with respect to every row.
 */
export function avgEntropy(outputs: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = logSoftmax(outputs, 1); // [N, C]
    // np.log(N) is a float64 constant in the seed; subtracting it from a float32 tensor rounds it to float32.
    const avgLogProbs = tf.sub(tf.logSumExp(logProbs, 0), Math.log(outputs.shape[0])); // [C]
    // torch.clamp(min=...) passes the gradient wherever the input is ≥ the floor; tf.maximum does the same.
    const clamped = tf.maximum(avgLogProbs, tf.scalar(FLOAT32_MIN));
    return tf.neg(tf.sum(tf.mul(clamped, tf.exp(clamped)))) as tf.Scalar;
  });
}
