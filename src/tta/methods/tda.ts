/**
 * TDA (Karmanov et al., CVPR 2024), transcribed from kdiAAA/TDA@e697fb0c8078cdeff93daa56bcf8860702542069:
 * - utils.py::get_clip_logits: logits = 100·f·Wᵀ (the literal 100, CLIP's exp(logit_scale)); with several views
 *   the int(V·0.1) views of lowest softmax entropy are kept (torch.argsort ascending), the query feature is
 *   their mean (not renormalised), the logits their mean, the entropy `avg_entropy` of their logits (the
 *   entropy of the mean probability, in log space), the probability map the mean of their softmaxes and the
 *   prediction the argmax of the mean logits; with one view: its logits, softmax_entropy and softmax;
 * - utils.py::get_entropy: the normalised entropy H / log2(C) (H in nats: the bases are mixed, as written);
 * - tda_runner.py::update_cache: a class's list grows to `shot_capacity`; when full, a new entry replaces the
 *   last (highest-entropy) one if its entropy is lower; the list is then sorted by entropy (stable);
 * - tda_runner.py::compute_cache_logits: α · exp(−(β − β·f·kᵀ)) · v over the cache's entries (keys sorted by
 *   class), v the one-hot of the entry's class (positive cache) or the mask 0.03 < p < 1 of its probability
 *   map (negative cache);
 * - tda_runner.py::run_test_tda: per sample, the positive cache (capacity 3) takes (f, H) under the prediction;
 *   the negative cache (capacity 2) takes (f, H, p) when 0.2 < H/log2(C) < 0.5; then
 *   final = logits + pos(α, β) − neg(0.117, 1.0), both caches already holding this sample;
 * - configs/*.yaml: α, β per test set (TDA_CONFIGS below); the negative cache's values are the same in every file.
 * The official code runs CLIP in half precision on CUDA; this runs in float32 features and float64 sums.
 */
import type { TptConfig } from '../../config/schema.js';
import type { ClipTowers } from '../../engine/towers.js';
import { argsortAscending } from '../../losses/selection.js';
import { FeatureTuner, hostLogits, type FeatureInputs } from './feature-tuner.js';
import { hyperparameterValue, METHOD_SPECS, usesTdaViews } from './names.js';
import type { OnlineMethod, OnlineState } from './types.js';
import { argmaxOf } from './zero.js';

/** utils.py::get_clip_logits: `100. * image_features @ clip_weights`. */
export const TDA_LOGIT_SCALE = 100;

/** The negative cache's settings, identical in every configs/*.yaml. */
export const TDA_NEGATIVE = { shotCapacity: 2, alpha: 0.117, beta: 1.0, entropyLower: 0.2, entropyUpper: 0.5, maskLower: 0.03, maskUpper: 1.0 } as const;
export const TDA_POSITIVE_CAPACITY = 3;

export interface CacheEntry {
  /** The query feature [E] (float32 values). */
  feature: number[];
  /** Its entropy (nats). */
  loss: number;
  /** Negative cache only: the probability map [C]. */
  prob?: number[];
}

/** A cache: class index → entries sorted by entropy (insertion order of the classes does not matter: read sorted). */
export type Cache = Record<number, CacheEntry[]>;

/** tda_runner.py::update_cache. */
export function updateCache(cache: Cache, pred: number, entry: CacheEntry, shotCapacity: number): void {
  const list = cache[pred];
  if (list === undefined) {
    cache[pred] = [entry];
    return;
  }
  if (list.length < shotCapacity) list.push(entry);
  else if (entry.loss < list[list.length - 1]!.loss) list[list.length - 1] = entry;
  list.sort((a, b) => a.loss - b.loss); // Python's sorted is stable, as Array.prototype.sort is
}

/** tda_runner.py::compute_cache_logits into `out` (added with `sign`). `mask`: the negative cache's rule. */
export function addCacheLogits(
  out: Float64Array,
  feature: ArrayLike<number>,
  cache: Cache,
  alpha: number,
  beta: number,
  sign: 1 | -1,
  mask?: { lower: number; upper: number },
): void {
  const classes = out.length;
  for (const key of Object.keys(cache).map(Number).sort((a, b) => a - b)) {
    for (const entry of cache[key]!) {
      let affinity = 0;
      for (let e = 0; e < feature.length; e++) affinity += feature[e]! * entry.feature[e]!;
      const weight = sign * alpha * Math.exp(-1 * (beta - beta * affinity));
      if (mask === undefined) out[key] = out[key]! + weight;
      else for (let c = 0; c < classes; c++) if (entry.prob![c]! > mask.lower && entry.prob![c]! < mask.upper) out[c] = out[c]! + weight;
    }
  }
}

function softmax(row: ArrayLike<number>, offset: number, classes: number): Float64Array {
  const p = new Float64Array(classes);
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, row[offset + c]!);
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += p[c] = Math.exp(row[offset + c]! - max);
  for (let c = 0; c < classes; c++) p[c] = p[c]! / sum;
  return p;
}

function entropyOf(p: Float64Array): number {
  let h = 0;
  for (const v of p) if (v > 0) h -= v * Math.log(v);
  return h;
}

/** What get_clip_logits returns for one sample. */
export interface TdaQuery {
  feature: Float32Array;
  logits: Float64Array;
  loss: number;
  prob: Float64Array;
  pred: number;
}

/** utils.py::get_clip_logits over the sample's features: all views (several) or view 0 alone (`views` 1). */
export function tdaQuery(image: Float32Array, views: number, text: Float32Array, classes: number, dim: number): TdaQuery {
  const l = hostLogits(image, views, text, classes, dim, TDA_LOGIT_SCALE);
  if (views === 1) {
    const prob = softmax(l, 0, classes);
    return { feature: image.slice(0, dim), logits: l, loss: entropyOf(prob), prob, pred: argmaxOf(l) };
  }
  const entropies = new Float64Array(views);
  for (let v = 0; v < views; v++) entropies[v] = entropyOf(softmax(l, v * classes, classes));
  const kept = argsortAscending(entropies).slice(0, Math.trunc(views * 0.1));
  const feature = new Float32Array(dim);
  const logits = new Float64Array(classes);
  const prob = new Float64Array(classes);
  const featureSum = new Float64Array(dim);
  for (const v of kept) {
    for (let e = 0; e < dim; e++) featureSum[e] = featureSum[e]! + image[v * dim + e]!;
    for (let c = 0; c < classes; c++) logits[c] = logits[c]! + l[v * classes + c]!;
    const p = softmax(l, v * classes, classes);
    for (let c = 0; c < classes; c++) prob[c] = prob[c]! + p[c]!;
  }
  for (let e = 0; e < dim; e++) feature[e] = featureSum[e]! / kept.length;
  for (let c = 0; c < classes; c++) {
    logits[c] = logits[c]! / kept.length;
    prob[c] = prob[c]! / kept.length;
  }
  // utils.py::avg_entropy: the entropy of the mean probability of the kept views.
  return { feature, logits, loss: entropyOf(prob), prob, pred: argmaxOf(logits) };
}

/** TDA's run-level state: the positive and negative caches. */
export class TdaCaches implements OnlineState {
  positive: Cache = {};
  negative: Cache = {};

  snapshot(): unknown {
    return { positive: this.positive, negative: this.negative };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as { positive?: Cache; negative?: Cache } | null;
    if (s === null || typeof s !== 'object' || typeof s.positive !== 'object' || typeof s.negative !== 'object') throw new Error('not a TDA state snapshot');
    this.positive = structuredClone(s.positive);
    this.negative = structuredClone(s.negative);
  }
}

export interface TdaSettings {
  alpha: number;
  beta: number;
  /** Whether the query is the top-10% mean of all views (A/V2/R/Sketch) rather than view 0 alone. */
  allViews: boolean;
}

/** tda_runner.py::run_test_tda's loop body for one sample: updates `caches` and returns the final logits [C]. */
export function tdaStep(caches: TdaCaches, inputs: FeatureInputs, settings: TdaSettings): Float64Array {
  const { image, text, classes, dim } = inputs;
  const q = tdaQuery(image, settings.allViews ? inputs.views : 1, text, classes, dim);
  const featureValues = Array.from(q.feature);
  updateCache(caches.positive, q.pred, { feature: featureValues, loss: q.loss }, TDA_POSITIVE_CAPACITY);
  const normalised = q.loss / Math.log2(classes);
  if (TDA_NEGATIVE.entropyLower < normalised && normalised < TDA_NEGATIVE.entropyUpper) {
    updateCache(caches.negative, q.pred, { feature: featureValues, loss: q.loss, prob: Array.from(q.prob) }, TDA_NEGATIVE.shotCapacity);
  }
  const final = Float64Array.from(q.logits);
  addCacheLogits(final, q.feature, caches.positive, settings.alpha, settings.beta, 1);
  if (Object.keys(caches.negative).length > 0) {
    addCacheLogits(final, q.feature, caches.negative, TDA_NEGATIVE.alpha, TDA_NEGATIVE.beta, -1, { lower: TDA_NEGATIVE.maskLower, upper: TDA_NEGATIVE.maskUpper });
  }
  return final;
}

export const tdaMethod: OnlineMethod = {
  ...METHOD_SPECS.tda,
  createTuner: (towers: ClipTowers, config: TptConfig) => {
    const settings: TdaSettings = { alpha: hyperparameterValue(config, 'tda_alpha'), beta: hyperparameterValue(config, 'tda_beta'), allViews: usesTdaViews(config.dataset) };
    const caches = new TdaCaches();
    return new FeatureTuner(towers, (inputs) => tdaStep(caches, inputs, settings), caches) as FeatureTuner & { onlineState: OnlineState };
  },
};
