import { TptError } from '../../errors.js';

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
}

/** Every method hyperparameter key of the config schema (nullable, default null = the method's official value). */
export const METHOD_HYPERPARAMETER_KEYS = ['ctpt_lambda', 'rtpt_top_k', 'rtpt_temperature', 'zero_gamma', 'mta_lambda_q', 'mta_lambda_y'] as const;
export type MethodHyperparameterKey = (typeof METHOD_HYPERPARAMETER_KEYS)[number];

/**
 * Whether a test set is one of the ImageNet family (ImageNet and its variants A, R, V2, Sketch), the split
 * C-TPT's scripts make for λ (20 there, 50 on the fine-grained sets). The one place this rule lives; when the
 * dataset registry records the family itself, this asks it.
 */
export function isImagenetFamily(dataset: string): boolean {
  return dataset === 'imagenet' || dataset.startsWith('imagenet-');
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
  return `${config.method} (${spec.title}${parts.length > 0 ? `; ${parts.join(', ')}` : ''})`;
}
