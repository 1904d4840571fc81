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

/** The k largest entries' indices, largest first; ties keep the lower index first. */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const indices = Array.from({ length: values.length }, (_, i) => i);
  // Array.prototype.sort is stable, so equal values stay in index order.
  indices.sort((a, b) => (values[b] as number) - (values[a] as number));
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
