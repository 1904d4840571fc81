/**
 * Hand-written run folders in issue 4's format (config.json, samples.jsonl, summary.json), for the report
 * and merge tests. Every figure below can be checked by hand from the sample lines.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pred {
  pred: number;
  top5: number[];
  conf: number;
  ce: number;
}

export interface Line {
  index: number;
  file: string;
  target: number;
  base: Pred;
  tpt: Pred;
  loss: number;
  change: number;
}

/** A prediction of class `pred` with the given confidence; top-5 is pred then the next classes. */
export function pred(p: number, conf: number, top5Extra: number[] = []): Pred {
  const top5 = [p, ...top5Extra];
  for (let c = 100; top5.length < 5; c++) if (!top5.includes(c)) top5.push(c);
  return { pred: p, top5, conf, ce: 1.5 };
}

export function line(index: number, target: number, base: Pred, tpt: Pred): Line {
  const change = Number(tpt.pred === target) - Number(base.pred === target);
  return { index, file: `n01498041/img_${index}.jpg`, target, base, tpt, loss: 0.25, change };
}

export function fixtureConfig(over: Record<string, unknown>): Record<string, unknown> {
  return {
    imagenet_a_path: './imagenet-a/',
    coop_weight_path: './model.pth.tar-50',
    n_aug: 4,
    n_patches: 16,
    batch_size: 1,
    arch: 'RN50',
    device: 'cuda:0',
    learning_rate: 0.005,
    n_ctx: 4,
    ctx_init: '',
    class_token_position: 'end',
    csc: false,
    run_name: '',
    augmenter: 'PatchAugmenter',
    loss: 'defaultTPT',
    augmix: true,
    severity: 2,
    num_workers: 4,
    save: true,
    reduced_size: null,
    dataset_shuffle: true,
    save_imgs: false,
    selection_p_all: 0.1,
    selection_p_patch: 0.9,
    overlap: 0.0,
    alpha_exponential_weightening: 1.0,
    seed: 1337,
    clip_weights: 'weights/RN50.pt',
    bpe_path: null,
    tta_steps: 1,
    backend: 'wasm',
    workers: 1,
    out_dir: 'runs',
    save_logits: false,
    allow_partial_dataset: false,
    image_size: 224,
    shard: null,
    ...over,
  };
}

export function writeRunFolder(
  dir: string,
  config: Record<string, unknown>,
  lines: readonly Line[],
  summary: Record<string, unknown> | undefined,
  tail = '',
  /** Top-level config.json fields besides the config (e.g. what ran: method, arch, context). */
  configFileExtra: Record<string, unknown> = {},
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ config, run_name: 'fixture', backend: 'wasm', version: '0.1.0', created: '2026-01-01T00:00:00.000Z', ...configFileExtra }, null, 2),
  );
  writeFileSync(join(dir, 'samples.jsonl'), lines.map((l) => JSON.stringify(l) + '\n').join('') + tail);
  if (summary) writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
  return dir;
}

export function summaryOf(over: Record<string, unknown>): Record<string, unknown> {
  return {
    run_name: 'fixture',
    finished: true,
    samples_done: 4,
    samples_total: 4,
    files_skipped: 0,
    top1_base: 0,
    top1_tpt: 0,
    top5_base: 0,
    top5_tpt: 0,
    improved: 0,
    worsened: 0,
    ece_base: 0,
    ece_tpt: 0,
    elapsed_seconds: 10,
    seconds_per_sample: 2.5,
    backend: 'wasm',
    workers: 1,
    updated: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}
