/**
 * BoostAdapter (Zhang et al., NeurIPS 2024), transcribed from taolinzhang/BoostAdapter@9983e1a1fdbd8587177d89a594d19458ad181a30
 * runner.py::run_test_tda with mode "boostadapter", on TDA's pieces (./tda.ts):
 * - utils.py::get_clip_logits(infer_ori_image): the query as TDA's (top-10% mean of the views) on ImageNet-A,
 *   -V2, -R and -Sketch; on every other set (`infer_ori_image`: the set's name is in the fine-grained list)
 *   view 0's feature, logits, entropy and prediction, although all views are encoded (they feed the boost);
 * - runner.py::update_cache(fifo=False): the entry is appended, the list sorted by entropy (stable) and cut to
 *   the capacity (the same cache as TDA's rule); the historical positive cache has capacity 3;
 * - boosting: a copy of the positive cache takes the int(V·0.1) views of lowest softmax entropy
 *   (utils.py::select_confident_samples over all views, view 0 included), each under its own argmax with its
 *   own entropy (get_output_entropy), capacity 3 + δ; the copy scores this sample and is dropped;
 * - the negative cache: update_cache with its default fifo=True: appended, the oldest dropped past capacity 2
 *   (TDA replaces the worst instead); entry rule, mask and (α, β) = (0.117, 1.0) as TDA's;
 * - final = logits + pos_boosted(α, β) − neg; α, β are TDA's per set (the same configs/*.yaml values), δ per set
 *   from its configs/*.yaml (`delta`). configs/imagenet.yaml has no `delta` (the official boostadapter mode
 *   raises a KeyError on ImageNet): 0 here.
 * Views: 64, random resized crops with flips, never AugMix (get_ood_preprocess: AugMixAugmenter(augmix=False)).
 */
import type { TptConfig } from '../../config/schema.js';
import type { ClipTowers } from '../../engine/towers.js';
import { argsortAscending } from '../../losses/selection.js';
import { FeatureTuner, hostLogits, type FeatureInputs } from './feature-tuner.js';
import { hyperparameterValue, METHOD_SPECS, usesTdaViews } from './names.js';
import { addCacheLogits, TDA_LOGIT_SCALE, TDA_NEGATIVE, TDA_POSITIVE_CAPACITY, TdaCaches, tdaQuery, type Cache, type CacheEntry } from './tda.js';
import type { OnlineMethod, OnlineState } from './types.js';
import { argmaxOf } from './zero.js';

/** runner.py::update_cache with fifo=False: append, sort by entropy (stable), keep the first `capacity`. */
export function updateCacheSorted(cache: Cache, pred: number, entry: CacheEntry, capacity: number): void {
  const list = cache[pred];
  if (list === undefined) {
    cache[pred] = [entry];
    return;
  }
  list.push(entry);
  list.sort((a, b) => a.loss - b.loss);
  if (list.length > capacity) list.length = capacity;
}

/** runner.py::update_cache with fifo=True (the negative cache's call): append, drop the oldest past `capacity`. */
export function updateCacheFifo(cache: Cache, pred: number, entry: CacheEntry, capacity: number): void {
  const list = cache[pred];
  if (list === undefined) {
    cache[pred] = [entry];
    return;
  }
  list.push(entry);
  if (list.length > capacity) list.shift();
}

export interface BoostSettings {
  alpha: number;
  beta: number;
  delta: number;
  /** The query is the top-10% mean of the views (A/V2/R/Sketch), else view 0 alone. */
  allViews: boolean;
}

function rowEntropy(l: Float64Array, offset: number, classes: number): number {
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, l[offset + c]!);
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(l[offset + c]! - max);
  const logSum = Math.log(sum) + max;
  let h = 0;
  for (let c = 0; c < classes; c++) {
    const logP = l[offset + c]! - logSum;
    h -= Math.exp(logP) * logP;
  }
  return h;
}

/** run_test_tda's loop body in mode boostadapter: updates `caches` and returns the final logits [C]. */
export function boostStep(caches: TdaCaches, inputs: FeatureInputs, settings: BoostSettings): Float64Array {
  const { image, views, text, classes, dim } = inputs;
  const q = tdaQuery(image, settings.allViews ? views : 1, text, classes, dim);
  const featureValues = Array.from(q.feature);
  updateCacheSorted(caches.positive, q.pred, { feature: featureValues, loss: q.loss }, TDA_POSITIVE_CAPACITY);

  // The boost: the confident views of this sample join a copy of the historical cache.
  const l = hostLogits(image, views, text, classes, dim, TDA_LOGIT_SCALE);
  const entropies = new Float64Array(views);
  for (let v = 0; v < views; v++) entropies[v] = rowEntropy(l, v * classes, classes);
  const boosted: Cache = structuredClone(caches.positive);
  for (const v of argsortAscending(entropies).slice(0, Math.trunc(views * 0.1))) {
    const entry = { feature: Array.from(image.subarray(v * dim, (v + 1) * dim)), loss: entropies[v]! };
    updateCacheSorted(boosted, argmaxOf(l, v * classes, classes), entry, TDA_POSITIVE_CAPACITY + settings.delta);
  }

  const normalised = q.loss / Math.log2(classes);
  if (TDA_NEGATIVE.entropyLower < normalised && normalised < TDA_NEGATIVE.entropyUpper) {
    updateCacheFifo(caches.negative, q.pred, { feature: featureValues, loss: q.loss, prob: Array.from(q.prob) }, TDA_NEGATIVE.shotCapacity);
  }
  const final = Float64Array.from(q.logits);
  addCacheLogits(final, q.feature, boosted, settings.alpha, settings.beta, 1);
  if (Object.keys(caches.negative).length > 0) {
    addCacheLogits(final, q.feature, caches.negative, TDA_NEGATIVE.alpha, TDA_NEGATIVE.beta, -1, { lower: TDA_NEGATIVE.maskLower, upper: TDA_NEGATIVE.maskUpper });
  }
  return final;
}

export const boostadapterMethod: OnlineMethod = {
  ...METHOD_SPECS.boostadapter,
  createTuner: (towers: ClipTowers, config: TptConfig) => {
    const settings: BoostSettings = {
      alpha: hyperparameterValue(config, 'tda_alpha'),
      beta: hyperparameterValue(config, 'tda_beta'),
      delta: hyperparameterValue(config, 'boostadapter_delta'),
      allViews: usesTdaViews(config.dataset),
    };
    const caches = new TdaCaches();
    return new FeatureTuner(towers, (inputs) => boostStep(caches, inputs, settings), caches) as FeatureTuner & { onlineState: OnlineState };
  },
};
