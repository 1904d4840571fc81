import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassTokenPosition, PromptSetupOptions } from '../../src/model/prompt-setup.js';
import type { HostTensor } from '../../src/weights/host-tensor.js';
import { MODEL_FIXTURES } from './helpers.js';

/** One prompt-learner case of scripts/fixtures/make_model_goldens.py (cases.json: tiny RN; vit-cases.json: tiny ViT). */
export interface ModelGoldenCase {
  name: string;
  classnames: string[];
  n_ctx: number;
  ctx_init: string;
  class_token_position: ClassTokenPosition;
  csc: boolean;
  coop: boolean;
  loss: number;
  selected: number[];
  eot: number[];
  ctx_shape: number[];
}

export interface ModelGoldens {
  /** vit-cases.json only: the files under test/fixtures/tiny-clip/ the cases were made from. */
  weights?: string;
  coop?: string;
  image_features?: string;
  selection_p: number;
  logit_scale: number;
  cases: ModelGoldenCase[];
}

export function readModelGoldens(file: 'cases.json'): ModelGoldens;
export function readModelGoldens(file: 'vit-cases.json'): Required<ModelGoldens>;
export function readModelGoldens(file: 'cases.json' | 'vit-cases.json'): ModelGoldens {
  return JSON.parse(readFileSync(join(MODEL_FIXTURES, file), 'utf8')) as ModelGoldens;
}

/** The seed's prompt learner settings of a case; `coopCtx` is used only by the CoOp cases. */
export function promptOptionsOf(c: ModelGoldenCase, coopCtx: HostTensor): PromptSetupOptions {
  return {
    nCtx: c.n_ctx,
    ctxInit: c.ctx_init,
    classTokenPosition: c.class_token_position,
    csc: c.csc,
    coopCtx: c.coop ? coopCtx : undefined,
  };
}
