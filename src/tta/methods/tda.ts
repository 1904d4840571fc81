/**
 * TDA (Karmanov et al., CVPR 2024) and BoostAdapter (Zhang et al., NeurIPS 2024): training-free caches of
 * confident test features that every later sample reads. Host arithmetic on float32 features, no gradient.
 *
 * TDA, transcribed from kdiAAA/TDA@e697fb0c8078cdeff93daa56bcf8860702542069:
 * - utils.py::get_clip_logits: logits = 100·F·Tᵀ (100 written out, not logit_scale). More than one view: the
 *   int(0.1·V) views of lowest softmax entropy; query feature = their mean (not renormalised), logits = the
 *   mean of their logits, loss = avg_entropy of their logits, prob_map = the mean of their softmaxes, pred = the
 *   argmax of the mean logits. One view: that view's feature, logits, softmax entropy and softmax.
 * - tda_runner.py::run_test_tda: the positive cache takes (feature, loss) under pred; the negative cache takes
 *   (feature, loss, prob_map) only when 0.2 < loss / log2(C) < 0.5 (natural-log entropy over a log2 maximum,
 *   as written); both caches are updated BEFORE this sample is scored; final = logits + pos − neg.
 * - tda_runner.py::update_cache: a class's list grows to its capacity (3 positive, 2 negative); when full, a
 *   new entry replaces the last (highest-entropy) one if its entropy is strictly lower; the list stays sorted
 *   by entropy (Python's stable sort).
 * - tda_runner.py::compute_cache_logits: keys in ascending class order, each class's list in its order;
 *   α·exp(−(β − β·f·k))·values, values the one-hot of the class (positive) or the mask 0.03 < p < 1 of the
 *   entry's prob_map (negative: α 0.117, β 1).
 * - configs/*.yaml: α, β of the positive cache per dataset (TDA_POSITIVE below); the negative settings are the
 *   same in every file.
 *
 * BoostAdapter, transcribed from taolinzhang/BoostAdapter@9983e1a1fdbd8587177d89a594d19458ad181a30:
 * - runner.py::run_test_tda (mode 'boostadapter'): TDA's positive cache (its update_cache with fifo=False is
 *   TDA's rule: append, stable sort by entropy, keep the capacity); the sample is scored with a deep copy of it
 *   into which the int(0.1·V) lowest-entropy views of ALL the sample's views (utils.py::select_confident_samples
 *   on the unselected features) are inserted, each under its own argmax with its own entropy
 *   (get_output_entropy), capacity 3 + δ; the copy is discarded after the sample.
 * - its negative cache calls update_cache with the default fifo=True: append, then drop the OLDEST entry past
 *   capacity 2 (no sorting) — unlike TDA's.
 * - get_clip_logits(infer_ori_image): on the fine-grained sets the query is view 0 alone (its logits, softmax
 *   entropy, softmax) while the boosting views still come from all views; on the ImageNet sets TDA's rule.
 * - configs/*.yaml `delta` per dataset (BOOST_DELTA below; configs/imagenet.yaml has none).
 *
 * Precision: the official code runs CLIP in fp16 on CUDA and casts cache values to half; here features are
 * float32 and the cache arithmetic float64.
 */
import { argsortAscending } from '../../losses/selection.js';
import { argmaxOf } from './zero.js';
import type { FeatureInputs } from './feature-tuner.js';
import { decodeFloat32, encodeFloat32, type OnlineAlgorithm } from './online.js';
import { TDA_LOGIT_SCALE, TDA_NEGATIVE, TDA_POSITIVE_CAPACITY, TDA_VIEW_FRACTION } from './online-settings.js';

export interface CacheEntry {
  feature: Float32Array;
  entropy: number;
  /** The negative cache's prob_map. */
  probs?: Float32Array;
}

/** Class → entries, as the official dicts (read in ascending class order). */
export type ClassCache = Map<number, CacheEntry[]>;

/** tda_runner.py::update_cache (= BoostAdapter's fifo=False): keep the `capacity` lowest entropies, sorted, ties to the older entry. */
export function insertSorted(cache: ClassCache, cls: number, entry: CacheEntry, capacity: number): void {
  const list = cache.get(cls);
  if (list === undefined) {
    cache.set(cls, [entry]);
    return;
  }
  list.push(entry);
  // Array.prototype.sort is stable, as Python's sorted: an equal entropy never displaces an older entry.
  list.sort((a, b) => a.entropy - b.entropy);
  if (list.length > capacity) list.length = capacity;
}

/** BoostAdapter's update_cache with fifo=True (its negative cache): append, drop the oldest past capacity. */
export function insertFifo(cache: ClassCache, cls: number, entry: CacheEntry, capacity: number): void {
  const list = cache.get(cls);
  if (list === undefined) {
    cache.set(cls, [entry]);
    return;
  }
  list.push(entry);
  if (list.length > capacity) list.shift();
}

function copyCache(cache: ClassCache): ClassCache {
  return new Map([...cache].map(([cls, list]) => [cls, [...list]]));
}

/** compute_cache_logits into `out` (added with `sign`): α·Σ_entries exp(−(β − β·f·k))·value. */
export function addCacheLogits(out: Float64Array, feature: ArrayLike<number>, cache: ClassCache, alpha: number, beta: number, sign: 1 | -1, negative?: { lower: number; upper: number }): void {
  const dim = feature.length;
  for (const cls of [...cache.keys()].sort((a, b) => a - b)) {
    for (const entry of cache.get(cls)!) {
      let affinity = 0;
      for (let e = 0; e < dim; e++) affinity += feature[e]! * entry.feature[e]!;
      const weight = sign * alpha * Math.exp(-(beta - beta * affinity));
      if (negative === undefined) {
        out[cls] = out[cls]! + weight;
      } else {
        const probs = entry.probs!;
        for (let c = 0; c < out.length; c++) if (probs[c]! > negative.lower && probs[c]! < negative.upper) out[c] = out[c]! + weight;
      }
    }
  }
}

/** log-softmax of one row, float64. */
function logSoftmax(row: ArrayLike<number>, offset: number, length: number): Float64Array {
  let max = -Infinity;
  for (let c = 0; c < length; c++) max = Math.max(max, row[offset + c]!);
  let sum = 0;
  for (let c = 0; c < length; c++) sum += Math.exp(row[offset + c]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(length);
  for (let c = 0; c < length; c++) out[c] = row[offset + c]! - lse;
  return out;
}

/** softmax_entropy of each row: −Σ softmax·log_softmax. */
export function rowEntropies(logits: Float64Array, rows: number, classes: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const lp = logSoftmax(logits, r * classes, classes);
    let h = 0;
    for (let c = 0; c < classes; c++) h -= Math.exp(lp[c]!) * lp[c]!;
    out[r] = h;
  }
  return out;
}

/** utils.py::avg_entropy: the entropy of the mean of the rows' softmaxes (in log space, clamped as torch does). */
export function averageEntropy(logits: Float64Array, rows: readonly number[], classes: number): number {
  const logProbs = rows.map((r) => logSoftmax(logits, r * classes, classes));
  let h = 0;
  for (let c = 0; c < classes; c++) {
    let max = -Infinity;
    for (const lp of logProbs) max = Math.max(max, lp[c]!);
    let sum = 0;
    for (const lp of logProbs) sum += Math.exp(lp[c]! - max);
    const avg = Math.max(max + Math.log(sum) - Math.log(rows.length), -Number.MAX_VALUE);
    h -= avg * Math.exp(avg);
  }
  return h;
}

/** What get_clip_logits returns for a sample: the query feature, its logits, entropy, probabilities and prediction. */
export interface CacheQuery {
  feature: Float32Array;
  logits: Float64Array;
  entropy: number;
  probs: Float32Array;
  pred: number;
}

/** The views' 100·F·Tᵀ logits [V, C] (float64). */
export function tdaLogits(inputs: FeatureInputs): Float64Array {
  const { image, views, text, classes, dim } = inputs;
  const out = new Float64Array(views * classes);
  for (let v = 0; v < views; v++) {
    for (let c = 0; c < classes; c++) {
      let sum = 0;
      for (let e = 0; e < dim; e++) sum += image[v * dim + e]! * text[c * dim + e]!;
      out[v * classes + c] = TDA_LOGIT_SCALE * sum;
    }
  }
  return out;
}

/** get_clip_logits: the top-10% views' mean when `selectViews` and there is more than one view, else view 0. */
export function cacheQuery(inputs: FeatureInputs, logits: Float64Array, selectViews: boolean): CacheQuery {
  const { image, views, classes, dim } = inputs;
  if (!selectViews || views === 1) {
    const lp = logSoftmax(logits, 0, classes);
    let entropy = 0;
    const probs = new Float32Array(classes);
    for (let c = 0; c < classes; c++) {
      probs[c] = Math.exp(lp[c]!);
      entropy -= Math.exp(lp[c]!) * lp[c]!;
    }
    return { feature: image.slice(0, dim), logits: logits.slice(0, classes), entropy, probs, pred: argmaxOf(logits, 0, classes) };
  }
  const kept = argsortAscending(rowEntropies(logits, views, classes)).slice(0, Math.trunc(views * TDA_VIEW_FRACTION));
  const feature = new Float32Array(dim);
  const mean = new Float64Array(dim);
  for (const v of kept) for (let e = 0; e < dim; e++) mean[e] = mean[e]! + image[v * dim + e]!;
  for (let e = 0; e < dim; e++) feature[e] = mean[e]! / kept.length;
  const meanLogits = new Float64Array(classes);
  const probSum = new Float64Array(classes);
  for (const v of kept) {
    const lp = logSoftmax(logits, v * classes, classes);
    for (let c = 0; c < classes; c++) {
      meanLogits[c] = meanLogits[c]! + logits[v * classes + c]!;
      probSum[c] = probSum[c]! + Math.exp(lp[c]!);
    }
  }
  const probs = new Float32Array(classes);
  for (let c = 0; c < classes; c++) {
    meanLogits[c] = meanLogits[c]! / kept.length;
    probs[c] = probSum[c]! / kept.length;
  }
  return { feature, logits: meanLogits, entropy: averageEntropy(logits, kept, classes), probs, pred: argmaxOf(meanLogits) };
}

/** One sample's change to the run's caches (what state.jsonl stores): whole values, exact through JSON. */
export interface CacheUpdate {
  pred: number;
  feature: Float32Array;
  entropy: number;
  /** Present when the sample enters the negative cache. */
  probs?: Float32Array;
}

export interface TdaSettings {
  alpha: number;
  beta: number;
  /** BoostAdapter: δ (the boosting copy's extra capacity); undefined for TDA. */
  boostDelta?: number;
  /** BoostAdapter on a fine-grained set (infer_ori_image): the query is view 0. */
  queryViewZero?: boolean;
}

interface EncodedUpdate {
  pred: number;
  feature: string;
  entropy: number;
  probs?: string;
}

/** TDA's (or, with `boostDelta`, BoostAdapter's) run-level caches and per-sample scores. */
export class CacheAdapter implements OnlineAlgorithm {
  readonly positive: ClassCache = new Map();
  readonly negative: ClassCache = new Map();

  constructor(readonly settings: TdaSettings) {}

  private get boosting(): boolean {
    return this.settings.boostDelta !== undefined;
  }

  apply(update: CacheUpdate): void {
    insertSorted(this.positive, update.pred, { feature: update.feature, entropy: update.entropy }, TDA_POSITIVE_CAPACITY);
    if (update.probs !== undefined) {
      const entry = { feature: update.feature, entropy: update.entropy, probs: update.probs };
      if (this.boosting) insertFifo(this.negative, update.pred, entry, TDA_NEGATIVE.capacity);
      else insertSorted(this.negative, update.pred, entry, TDA_NEGATIVE.capacity);
    }
  }

  step(inputs: FeatureInputs): { scores: Float64Array; update: unknown } {
    const logits = tdaLogits(inputs);
    const query = cacheQuery(inputs, logits, !this.settings.queryViewZero);
    const normalised = query.entropy / Math.log2(inputs.classes);
    const update: CacheUpdate = {
      pred: query.pred,
      feature: query.feature,
      entropy: query.entropy,
      ...(TDA_NEGATIVE.entropyLower < normalised && normalised < TDA_NEGATIVE.entropyUpper ? { probs: query.probs } : {}),
    };
    this.apply(update);
    const scores = Float64Array.from(query.logits);
    const positive = this.boosting ? this.boosted(inputs, logits) : this.positive;
    addCacheLogits(scores, query.feature, positive, this.settings.alpha, this.settings.beta, 1);
    if (this.negative.size > 0) {
      addCacheLogits(scores, query.feature, this.negative, TDA_NEGATIVE.alpha, TDA_NEGATIVE.beta, -1, { lower: TDA_NEGATIVE.maskLower, upper: TDA_NEGATIVE.maskUpper });
    }
    return { scores, update: encodeUpdate(update) };
  }

  /** The boosting copy: the historical cache plus the sample's int(0.1·V) most confident views, capacity 3 + δ. */
  boosted(inputs: FeatureInputs, logits: Float64Array): ClassCache {
    const { image, views, classes, dim } = inputs;
    const copy = copyCache(this.positive);
    const entropies = rowEntropies(logits, views, classes);
    const kept = argsortAscending(entropies).slice(0, Math.trunc(views * TDA_VIEW_FRACTION));
    for (const v of kept) {
      insertSorted(copy, argmaxOf(logits, v * classes, classes), { feature: image.slice(v * dim, (v + 1) * dim), entropy: entropies[v]! }, TDA_POSITIVE_CAPACITY + this.settings.boostDelta!);
    }
    return copy;
  }

  replay(encoded: unknown): void {
    this.apply(decodeUpdate(encoded as EncodedUpdate));
  }
}

function encodeUpdate(update: CacheUpdate): EncodedUpdate {
  return {
    pred: update.pred,
    feature: encodeFloat32(update.feature),
    entropy: update.entropy,
    ...(update.probs !== undefined ? { probs: encodeFloat32(update.probs) } : {}),
  };
}

function decodeUpdate(encoded: EncodedUpdate): CacheUpdate {
  return {
    pred: encoded.pred,
    feature: decodeFloat32(encoded.feature),
    entropy: encoded.entropy,
    ...(encoded.probs !== undefined ? { probs: decodeFloat32(encoded.probs) } : {}),
  };
}
