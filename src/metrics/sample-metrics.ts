/**
 * Per-sample quantities the seed's MetricsTracker derives from one image's logits. Logits arrive as float32
 * (a [n_classes] row); softmax and log-softmax are computed here in float64 (tiny vectors, and float64 keeps
 * the numbers independent of the backend), and the tracker writes them to TensorBoard as float32.
 */

/** What the engine keeps per prediction (samples.jsonl `base` / `tpt`). */
export interface PredictionMetrics {
  /** argmax of the softmax (the first index on ties, like torch.max on CPU). */
  pred: number;
  /** torch.topk(logits, 5): largest first; equal logits keep the lower class index first. */
  top5: number[];
  /** max softmax probability ("confidence" in the seed's tags). */
  conf: number;
  /** CrossEntropyLoss(logits, target) = −log_softmax(logits)[target]. */
  ce: number;
}

export function logSoftmax64(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] as number) - max);
  const logSumExp = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = (logits[i] as number) - logSumExp;
  return out;
}

/**
 * The k largest entries' indices, largest first, NaN counting as the largest (as in torch.topk). torch does not
 * promise an order among equal values; we keep the lower index first (a stable sort), which is what its CPU
 * kernel gives for small rows. Fewer than k entries give them all (the seed, with 200 classes, never has that).
 */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const indices = Array.from({ length: values.length }, (_, i) => i);
  // Array.prototype.sort is stable, so equal keys stay in index order.
  indices.sort((a, b) => {
    const va = values[a] as number;
    const vb = values[b] as number;
    if (Number.isNaN(va) || Number.isNaN(vb)) return Number(Number.isNaN(vb)) - Number(Number.isNaN(va));
    return vb > va ? 1 : vb < va ? -1 : 0;
  });
  return indices.slice(0, Math.min(k, values.length));
}

export function predictionMetrics(logits: ArrayLike<number>, target: number): PredictionMetrics {
  if (logits.length === 0) throw new Error('predictionMetrics: empty logits');
  if (!(Number.isInteger(target) && target >= 0 && target < logits.length)) {
    throw new Error(`predictionMetrics: target ${target} is not a class index below ${logits.length}`);
  }
  const logProbs = logSoftmax64(logits);
  let pred = 0;
  for (let i = 1; i < logProbs.length; i++) if ((logProbs[i] as number) > (logProbs[pred] as number)) pred = i;
  const targetLogProb = logProbs[target] as number;
  return {
    pred,
    // top-5 of the logits (as the seed does), not of the probabilities; the order is the same.
    top5: topK(logits, 5),
    conf: Math.exp(logProbs[pred] as number),
    ce: -targetLogProb,
  };
}
