import { getDataset, isDatasetName } from '../../data/datasets/registry.js';
import { TptError } from '../../errors.js';
import { assertLossConfig, type LossName } from '../../losses/names.js';
import type { LossContext } from '../../losses/types.js';
import { ONLINE_METHOD_SPECS } from './online-specs.js';

/**
 * The test-time adaptation methods as configuration sees them (config `method`): what each needs, which
 * views it is defined on, its hyperparameters with their official defaults and where its code comes from,
 * with no tensor code, so parsing and checking a config never loads an engine. The per-sample functions are
 * in `registry.ts` (one file per method beside it).
 *
 * `kind` is the seam for methods whose state carries over from sample to sample: an `episodic` method resets
 * everything per sample (any number of samples may run in parallel, in any order); an `online` one keeps
 * run-level state that is updated after each sample strictly in stream order, so its processor runs one
 * sample at a time and its state is saved with each finished sample and restored at resume.
 */

export type MethodKind = 'episodic' | 'online';

/**
 * Which views a method is defined on. `config`: the augmenter, AugMix and view count as configured (TPT's
 * rule); `crop-flip`: view 0 plus random resized crops with flips, never AugMix (AugmenterTPT, augmix false).
 */
export type MethodViews = 'config' | 'crop-flip';

/** The official code a method's file transcribes: repository, commit, file and function. */
export interface MethodSource {
  repo: string;
  commit: string;
  file: string;
  fn: string;
}

/** The dataset facts an official default may depend on. */
export interface DefaultContext {
  dataset: string;
}

export interface MethodHyperparameter {
  /** The config key (null there = the official default). */
  key: MethodHyperparameterKey;
  /** The official value for this run (some depend on the test set). */
  officialDefault: (context: DefaultContext) => number;
  /** What the official default is, in words, for help texts. */
  defaultText: string;
}

export interface MethodSpec {
  /** As papers write it: `C-TPT`. */
  title: string;
  /** One line for help texts and run banners. */
  description: string;
  kind: MethodKind;
  /** Whether a sample backpropagates through the text tower (false: text is encoded once per run). */
  textGradient: boolean;
  views: MethodViews;
  /** Whether the `loss` key chooses the tuning loss (tpt, c-tpt); other methods have their own objective or none. */
  usesLoss: boolean;
  /** Whether learning_rate and tta_steps apply (methods that tune a prompt). */
  tunesPrompt: boolean;
  hyperparameters: readonly MethodHyperparameter[];
  source: MethodSource;
  /** Why the method cannot run with this config and view count (and what to change), or undefined. */
  validateViews?: (config: MethodCheckConfig, viewCount: number) => string | undefined;
}

/** The config values the methods' checks read (a structural subset of TptConfig; names.ts loads no schema). */
export type MethodCheckConfig = { method: MethodName; dataset: string; selection_p_all: number } & Partial<Record<MethodHyperparameterKey, number | null>>;

/** Every method hyperparameter key of the config schema (nullable, default null = the method's official value). */
export const METHOD_HYPERPARAMETER_KEYS = [
  'ctpt_lambda',
  'rtpt_top_k',
  'rtpt_temperature',
  'zero_gamma',
  'mta_lambda_q',
  'mta_lambda_y',
  'tda_alpha',
  'tda_beta',
  'boost_delta',
  'dmn_beta',
  'dmn_weight',
  'dmn_memory_size',
] as const;
export type MethodHyperparameterKey = (typeof METHOD_HYPERPARAMETER_KEYS)[number];

/**
 * Whether a test set is one of the ImageNet family (ImageNet and its variants A, R, V2, Sketch: the TPT paper's
 * natural-shift table), the split C-TPT's scripts make for λ (20 there, 50 on the fine-grained sets). The
 * dataset registry records the family; this asks it.
 */
export function isImagenetFamily(dataset: string): boolean {
  return isDatasetName(dataset) && getDataset(dataset).benchmark === 'natural-shift';
}

const constant = (value: number) => () => value;


export const METHOD_SPECS = {
  tpt: {
    title: 'TPT',
    description: 'TPT (Shu et al., NeurIPS 2022): tune the prompt context on the configured loss, score view 0 with the tuned prompt',
    kind: 'episodic',
    textGradient: true,
    views: 'config',
    usesLoss: true,
    tunesPrompt: true,
    hyperparameters: [],
    source: { repo: 'azshue/TPT', commit: '63ecbace79694205d7884e63fdc3137a200f0b0e', file: 'tpt_classification.py', fn: 'test_time_tuning' },
  },
  'c-tpt': {
    title: 'C-TPT',
    description: 'C-TPT (Yoon et al., ICLR 2024): the loss minus λ·ATFD, the spread of the prompt\'s L2-normalised text features; score view 0',
    kind: 'episodic',
    textGradient: true,
    views: 'config',
    usesLoss: true,
    tunesPrompt: true,
    hyperparameters: [
      {
        key: 'ctpt_lambda',
        officialDefault: ({ dataset }) => (isImagenetFamily(dataset) ? 20 : 50),
        defaultText: '20 on the ImageNet sets, 50 on the fine-grained sets (scripts/test_tpt_ctpt_{ds,fg}.sh)',
      },
    ],
    source: { repo: 'hee-suk-yoon/C-TPT', commit: '085e6c2e3d2da647ca42dcef163e0cbd4bf30a67', file: 'tpt_classification.py', fn: 'test_time_tuning (run_type tpt_ctpt)' },
  },
  'r-tpt': {
    title: 'R-TPT',
    description:
      'R-TPT (Sheng et al., CVPR 2025): tune on the mean per-view entropy of the confident views, score with the reliability-weighted ensemble of all views',
    kind: 'episodic',
    textGradient: true,
    views: 'config',
    usesLoss: false,
    tunesPrompt: true,
    hyperparameters: [
      { key: 'rtpt_top_k', officialDefault: constant(20), defaultText: '20 (rtpt.py::get_top_sim)' },
      { key: 'rtpt_temperature', officialDefault: constant(0.01), defaultText: '0.01 (rtpt.py::test_time_adapt_eval)' },
    ],
    source: { repo: 'TomSheng21/R-TPT', commit: 'e085f134eb299083ccc97327b316272fc40393b8', file: 'rtpt.py', fn: 'test_time_tuning, get_top_sim, test_time_adapt_eval' },
    validateViews: (config, viewCount) => {
      const kept = Math.trunc(viewCount * config.selection_p_all);
      if (kept < 1) return `its loss keeps int(${viewCount}·selection_p_all ${config.selection_p_all}) = 0 views; raise selection_p_all or n_aug`;
      const topK = hyperparameterValue(config, 'rtpt_top_k');
      if (viewCount - 1 < topK) return `its reliability score averages each view's ${topK} nearest other views, but there are ${viewCount - 1}; raise n_aug or lower rtpt_top_k`;
      return undefined;
    },
  },
  zero: {
    title: 'Zero',
    description: 'Zero (Farina et al., NeurIPS 2024): no gradient; the argmax votes of the γ most confident views (ties go to the next confident view)',
    kind: 'episodic',
    textGradient: false,
    views: 'crop-flip',
    usesLoss: false,
    tunesPrompt: false,
    hyperparameters: [{ key: 'zero_gamma', officialDefault: constant(0.3), defaultText: '0.3 (ttas/zero.py::Zero.set_hyperparams since 2024-10-07; the paper: 0.1)' }],
    source: { repo: 'FarinaMatteo/zero', commit: 'c609f7c27bd83a9c898c5bb0256f8272e4d973e3', file: 'ttas/zero.py, utils/tools.py', fn: 'Zero.zero, greedy_break' },
    validateViews: (config, viewCount) => {
      const gamma = hyperparameterValue(config, 'zero_gamma');
      if (Math.trunc(viewCount * gamma) < 1) return `it keeps int(${viewCount}·zero_gamma ${gamma}) = 0 views; raise zero_gamma or n_aug`;
      return undefined;
    },
  },
  mta: {
    title: 'MTA',
    description: 'MTA (Zanella & Ben Ayed, CVPR 2024): no gradient; the inlierness-weighted MeanShift mode of the views\' features, scored against the text',
    kind: 'episodic',
    textGradient: false,
    views: 'crop-flip',
    usesLoss: false,
    tunesPrompt: false,
    hyperparameters: [
      { key: 'mta_lambda_q', officialDefault: constant(4), defaultText: '4 (main.py --lambda_q)' },
      { key: 'mta_lambda_y', officialDefault: constant(0.2), defaultText: '0.2 (main.py --lambda_y)' },
    ],
    source: { repo: 'MaxZanella/MTA', commit: 'cafafdfa2918d3e9e45eb711f6aed8e3582fcb8d', file: 'mta.py', fn: 'solve_mta' },
    validateViews: (_config, viewCount) =>
      Math.trunc(0.3 * (viewCount - 1)) < 1 ? `its bandwidths average the int(0.3·(${viewCount}−1)) = 0 nearest views; use at least 5 views (n_aug ≥ 4)` : undefined,
  },
  ...ONLINE_METHOD_SPECS,
} as const satisfies Record<string, MethodSpec>;

export type MethodName = keyof typeof METHOD_SPECS;

/** The method names as a non-empty tuple, for `z.enum(METHOD_NAMES)`; `tpt` first (the default). */
export const METHOD_NAMES = Object.keys(METHOD_SPECS) as [MethodName, ...MethodName[]];

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(METHOD_SPECS, name);
}

/** The method whose hyperparameter `key` is. */
export function methodOfHyperparameter(key: MethodHyperparameterKey): MethodName | undefined {
  return METHOD_NAMES.find((name) => (METHOD_SPECS[name] as MethodSpec).hyperparameters.some((h) => h.key === key));
}

/** A hyperparameter's value for this run: the config's when set, else the official default for the dataset. */
export function hyperparameterValue(
  config: { method: MethodName; dataset: string } & Partial<Record<MethodHyperparameterKey, number | null>>,
  key: MethodHyperparameterKey,
): number {
  const spec = (METHOD_SPECS[config.method] as MethodSpec).hyperparameters.find((h) => h.key === key);
  if (spec === undefined) throw new Error(`${key} is not a hyperparameter of method ${config.method}`);
  return config[key] ?? spec.officialDefault({ dataset: config.dataset });
}

/** One line per config key set for a method that does not use it (empty when the config is consistent). */
export function methodKeyProblems(
  config: { method: MethodName; augmenter: string; augmix: boolean; loss: string; learning_rate: number; tta_steps: number } & Partial<
    Record<MethodHyperparameterKey, number | null>
  >,
  seedDefaults: { loss: string; learning_rate: number; tta_steps: number },
): string[] {
  const spec: MethodSpec = METHOD_SPECS[config.method];
  const lines: string[] = [];
  for (const key of METHOD_HYPERPARAMETER_KEYS) {
    const value = config[key];
    if (value === null || value === undefined || spec.hyperparameters.some((h) => h.key === key)) continue;
    const owner = methodOfHyperparameter(key);
    lines.push(`config: ${key}: applies to method ${owner ?? '(none)'} only, not ${config.method}; remove it or set it to null`);
  }
  if (!spec.usesLoss && config.loss !== seedDefaults.loss) {
    lines.push(`config: loss: method ${config.method} has its own objective, so loss ${config.loss} does not apply; remove loss`);
  }
  if (!spec.tunesPrompt) {
    for (const key of ['learning_rate', 'tta_steps'] as const) {
      if (config[key] !== seedDefaults[key]) lines.push(`config: ${key}: method ${config.method} tunes no prompt, so ${key} does not apply; remove it`);
    }
  }
  if (spec.views === 'crop-flip') {
    if (config.augmenter !== 'AugmenterTPT') lines.push(`config: augmenter: method ${config.method} is defined on random crops with flips (AugmenterTPT), not ${config.augmenter}`);
    if (config.augmix) lines.push(`config: augmix: method ${config.method} uses random crops with flips and never AugMix; set augmix false`);
  }
  return lines;
}

/**
 * Throws a TptError (CONFIG_INVALID) when the method cannot run with this many views per sample. Methods that
 * tune on the configured loss check the loss instead (`assertLossConfig`, which the callers run for them).
 */
export function assertMethodViews(config: MethodCheckConfig, viewCount: number): void {
  const problem = (METHOD_SPECS[config.method] as MethodSpec).validateViews?.(config, viewCount);
  if (problem !== undefined) {
    throw new TptError('CONFIG_INVALID', `config: method ${config.method} cannot run with ${viewCount} views per image: ${problem}`, {
      hint: `See configs/methods/${config.method}.json for the method's official view settings.`,
    });
  }
}

/**
 * The one view-count check of a run, a config check and `tpt bench`: the configured loss where the method
 * tunes on it, then the method's own needs.
 */
export function assertMethodCanRun(
  config: MethodCheckConfig & { loss: LossName },
  lossContext: LossContext,
  viewCount: number,
  options: { hint?: string } = {},
): void {
  if ((METHOD_SPECS[config.method] as MethodSpec).usesLoss) assertLossConfig(config.loss, lossContext, viewCount, options);
  assertMethodViews(config, viewCount);
}

/** Throws a TptError (CONFIG_INVALID) listing every key the method cannot use. */
export function assertMethodConfig(...args: Parameters<typeof methodKeyProblems>): void {
  const lines = methodKeyProblems(...args);
  if (lines.length > 0) {
    throw new TptError('CONFIG_INVALID', lines.join('\n'), {
      hint: `See configs/methods/${args[0].method}.json for the method's official settings; \`tpt run --help\` lists every key.`,
    });
  }
}

/** The banner's method line: "tpt (TPT; loss defaultTPT, 1 step at lr 0.005)", "zero (Zero; zero_gamma 0.3; no gradient)". */
export function methodLabel(
  config: { method: MethodName; dataset: string; loss: string; tta_steps: number; learning_rate: number } & Partial<Record<MethodHyperparameterKey, number | null>>,
): string {
  const spec: MethodSpec = METHOD_SPECS[config.method];
  const parts: string[] = [];
  if (spec.usesLoss) parts.push(`loss ${config.loss}`);
  if (spec.tunesPrompt) parts.push(`${config.tta_steps} step${config.tta_steps === 1 ? '' : 's'} at lr ${config.learning_rate}`);
  for (const h of spec.hyperparameters) parts.push(`${h.key} ${hyperparameterValue(config, h.key)}${config[h.key] === null || config[h.key] === undefined ? ' (official)' : ''}`);
  if (!spec.textGradient) parts.push('no gradient');
  if (spec.kind === 'online') parts.push('online: state carried along the stream, saved in state.jsonl');
  return `${config.method} (${spec.title}${parts.length > 0 ? `; ${parts.join(', ')}` : ''})`;
}
