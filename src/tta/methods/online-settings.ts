/**
 * The official settings of the online methods as data (no tensor code: config checks and names.ts read them).
 * TDA's configs/*.yaml (kdiAAA/TDA@e697fb0c8078cdeff93daa56bcf8860702542069) and BoostAdapter's
 * (taolinzhang/BoostAdapter@9983e1a1fdbd8587177d89a594d19458ad181a30), keyed by the dataset registry's names; a
 * dataset added to the registry gets a row here when its official file exists (else ImageNet-A's values).
 */

/** TDA's logits scale: `100. * image_features @ clip_weights` (utils.py::get_clip_logits). */
export const TDA_LOGIT_SCALE = 100;
/** The fraction of views get_clip_logits and select_confident_samples keep. */
export const TDA_VIEW_FRACTION = 0.1;
export const TDA_POSITIVE_CAPACITY = 3;
/** The negative cache's settings: the same in every configs/*.yaml of TDA and BoostAdapter. */
export const TDA_NEGATIVE = { capacity: 2, alpha: 0.117, beta: 1.0, entropyLower: 0.2, entropyUpper: 0.5, maskLower: 0.03, maskUpper: 1.0 } as const;

/**
 * Positive-cache α, β of TDA's configs/*.yaml, keyed by the dataset registry's names (imagenet_a.yaml,
 * imagenet_v.yaml, …; fgvc.yaml is FGVC-Aircraft). A dataset missing here takes ImageNet-A's values.
 */
export const TDA_POSITIVE: Readonly<Record<string, { alpha: number; beta: number }>> = {
  imagenet: { alpha: 2.0, beta: 5.0 },
  'imagenet-a': { alpha: 2.0, beta: 5.0 },
  'imagenet-v2': { alpha: 1.0, beta: 8.0 },
  'imagenet-r': { alpha: 1.0, beta: 8.0 },
  'imagenet-sketch': { alpha: 2.363, beta: 7.45 },
  caltech101: { alpha: 5.0, beta: 5.0 },
  dtd: { alpha: 2.0, beta: 3.0 },
  eurosat: { alpha: 4.0, beta: 8.0 },
  'fgvc-aircraft': { alpha: 2.0, beta: 2.0 },
  food101: { alpha: 1.0, beta: 1.0 },
  flowers102: { alpha: 1.0, beta: 5.0 },
  'oxford-pets': { alpha: 2.0, beta: 7.0 },
  'stanford-cars': { alpha: 1.0, beta: 7.0 },
  sun397: { alpha: 2.0, beta: 3.0 },
  ucf101: { alpha: 3.0, beta: 8.0 },
};

/** BoostAdapter's δ (configs/*.yaml `delta`); ImageNet has none in the official configs (a KeyError there). */
export const BOOST_DELTA: Readonly<Record<string, number>> = {
  'imagenet-a': 3,
  'imagenet-r': 3,
  food101: 3,
  'stanford-cars': 3,
  caltech101: 2,
  'fgvc-aircraft': 2,
  'imagenet-v2': 1,
  'imagenet-sketch': 1,
  sun397: 1,
  dtd: 0,
  eurosat: 0,
  flowers102: 0,
  'oxford-pets': 0,
  ucf101: 0,
};

export function tdaPositive(dataset: string): { alpha: number; beta: number } {
  return TDA_POSITIVE[dataset] ?? TDA_POSITIVE['imagenet-a']!;
}
