import type { MethodSpec } from './names.js';
import { BOOST_DELTA, TDA_VIEW_FRACTION, tdaPositive } from './online-settings.js';

/**
 * The online methods as configuration sees them (joined into METHOD_SPECS in names.ts): state carried from
 * sample to sample in stream order, no gradient, text encoded once per run. No tensor code.
 */

const constant = (value: number) => () => value;

/** TDA's and DMN's views rule: one view, or enough that int(0.1·V) ≥ 1 are the confident ones. */
function confidentViewsProblem(viewCount: number): string | undefined {
  if (viewCount === 1 || Math.trunc(viewCount * TDA_VIEW_FRACTION) >= 1) return undefined;
  return `with ${viewCount} views it would average the int(0.1·${viewCount}) = 0 most confident ones; use one view (n_aug 0) or at least 10 (n_aug ≥ 9)`;
}

export const ONLINE_METHOD_SPECS = {
  tda: {
    title: 'TDA',
    description:
      'TDA (Karmanov et al., CVPR 2024): online, no gradient; positive (3/class) and negative (2/class) caches of confident test features added to the zero-shot logits',
    kind: 'online',
    textGradient: false,
    views: 'config',
    usesLoss: false,
    tunesPrompt: false,
    hyperparameters: [
      { key: 'tda_alpha', officialDefault: ({ dataset }) => tdaPositive(dataset).alpha, defaultText: "the dataset's configs/*.yaml positive alpha (ImageNet-A: 2.0)" },
      { key: 'tda_beta', officialDefault: ({ dataset }) => tdaPositive(dataset).beta, defaultText: "the dataset's configs/*.yaml positive beta (ImageNet-A: 5.0)" },
    ],
    source: { repo: 'kdiAAA/TDA', commit: 'e697fb0c8078cdeff93daa56bcf8860702542069', file: 'tda_runner.py, utils.py', fn: 'run_test_tda, update_cache, compute_cache_logits, get_clip_logits' },
    validateViews: (_config, viewCount) => confidentViewsProblem(viewCount),
  },
  'dmn-zs': {
    title: 'DMN-ZS',
    description:
      'DMN-ZS (Zhang et al., CVPR 2024): online, no gradient; a dynamic memory of 50 test features per class read with similarity weights; weak with one view (n_aug 0), strong with 64',
    kind: 'online',
    textGradient: false,
    views: 'config',
    usesLoss: false,
    tunesPrompt: false,
    hyperparameters: [
      { key: 'dmn_beta', officialDefault: constant(5.5), defaultText: '5.5 (dmn_main.py --beta, scripts/run.sh)' },
      {
        key: 'dmn_weight',
        officialDefault: constant(1.0),
        defaultText: "1.0 (the memory's weight beside the zero-shot softmax; the official code searches it afterwards on the test labels)",
      },
      { key: 'dmn_memory_size', officialDefault: constant(50), defaultText: '50 (dmn_main.py --memory_size)' },
    ],
    source: { repo: 'YBZh/DMN', commit: 'c6c218c70ebbc701b31cc3d7f7b9597117daad8e', file: 'dmn_main.py', fn: 'direct_inference, DualMem.update_memory_bank, DualMem.get_image_pred' },
    validateViews: (_config, viewCount) => confidentViewsProblem(viewCount),
  },
  boostadapter: {
    title: 'BoostAdapter',
    description:
      "BoostAdapter (Zhang et al., NeurIPS 2024): online, no gradient; TDA's caches plus a per-sample boosting cache of the sample's own most confident views",
    kind: 'online',
    textGradient: false,
    views: 'crop-flip',
    usesLoss: false,
    tunesPrompt: false,
    hyperparameters: [
      { key: 'tda_alpha', officialDefault: ({ dataset }) => tdaPositive(dataset).alpha, defaultText: "the dataset's configs/*.yaml positive alpha (ImageNet-A: 2.0)" },
      { key: 'tda_beta', officialDefault: ({ dataset }) => tdaPositive(dataset).beta, defaultText: "the dataset's configs/*.yaml positive beta (ImageNet-A: 5.0)" },
      { key: 'boost_delta', officialDefault: ({ dataset }) => BOOST_DELTA[dataset] ?? BOOST_DELTA['imagenet-a']!, defaultText: "the dataset's configs/*.yaml delta (ImageNet-A: 3)" },
    ],
    source: { repo: 'taolinzhang/BoostAdapter', commit: '9983e1a1fdbd8587177d89a594d19458ad181a30', file: 'runner.py, utils.py', fn: "run_test_tda (mode 'boostadapter'), update_cache, get_clip_logits" },
    validateViews: (config, viewCount) => {
      if (config.dataset === 'imagenet' && (config.boost_delta === null || config.boost_delta === undefined)) {
        return 'the official configs/imagenet.yaml has no delta (its authors never ran ImageNet); set boost_delta';
      }
      if (viewCount < 1 / TDA_VIEW_FRACTION) return `its boosting cache takes the int(0.1·${viewCount}) = 0 most confident views; use at least 10 views (n_aug ≥ 9)`;
      return undefined;
    },
  },
} as const satisfies Record<string, MethodSpec>;
