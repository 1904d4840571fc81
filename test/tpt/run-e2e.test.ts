import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import type { TptConfig } from '../../src/config/schema.js';
import { readEventDir, scalarRows } from '../../src/metrics/event-reader.js';
import { IMAGENET_A_CLASSNAMES } from '../../src/data/datasets/imagenet-a.js';
import { readJsonLines } from '../../src/run/jsonl.js';
import type { SampleRecord, SkippedRecord } from '../../src/run/records.js';
import { silentReporter, type ProgressSnapshot, type RunReporter } from '../../src/run/reporter.js';
import { runTpt, type RunTptResult } from '../../src/tta/coordinator.js';
import { tunerOver } from '../../src/tta/model-loader.js';
import { tinyRunConfig, writeTinyDataset } from './tiny-dataset.js';
import { readSummary, readText, scalarTriples, withoutTimings } from './run-folder-reads.js';

/**
 * `tpt run` end to end on a tiny dataset (2 classes × 2 images of mixed sizes + one corrupt file) with the
 * tiny CLIP: one uninterrupted reference run, then the same config interrupted after 2 positions and resumed.
 */

let datasetRoot: string;
let reference: { config: TptConfig; result: RunTptResult; progress: ProgressSnapshot[] };

function recordingReporter(progress: ProgressSnapshot[]): RunReporter {
  return { ...silentReporter, progress: (p) => progress.push(p) };
}

beforeAll(async () => {
  await initBackend('wasm');
  datasetRoot = await writeTinyDataset({ classes: 2, perClass: 2, corrupt: true });
  const config = tinyRunConfig(datasetRoot, ['save_logits=true', 'save_imgs=true']);
  const progress: ProgressSnapshot[] = [];
  const tensorsBefore = tf.memory().numTensors;
  const result = await runTpt(config, { reporter: recordingReporter(progress) });
  expect(tf.memory().numTensors).toBe(tensorsBefore); // every tensor of the run was released
  reference = { config, result, progress };
});

describe('tpt run on a tiny dataset with the tiny CLIP', () => {
  it('finishes and leaves the run folder', () => {
    const { result, progress } = reference;
    expect(result.status).toBe('finished');
    const files = readdirSync(result.dir).sort();
    expect(files).toEqual(expect.arrayContaining(['config.json', 'log.jsonl', 'samples.jsonl', 'skipped.jsonl', 'summary.json']));
    expect(files.filter((f) => f.startsWith('events.out.tfevents.'))).toHaveLength(1);

    const samples = readJsonLines<SampleRecord>(join(result.dir, 'samples.jsonl')).records;
    expect(samples).toHaveLength(4);
    for (const s of samples) {
      expect(Object.keys(s)).toEqual(['index', 'file', 'target', 'base', 'tpt', 'loss', 'change', 'base_logits', 'tpt_logits']);
      expect(s.file).toMatch(/^n\d{8}\/img_\d\.jpg$/);
      expect(Object.keys(s.base)).toEqual(['pred', 'top5', 'conf', 'ce']);
      expect(s.base_logits).toHaveLength(200);
      expect(s.tpt.top5).toHaveLength(5);
      expect(s.base.pred).toBe(s.base.top5[0]);
      expect(Number.isFinite(s.loss)).toBe(true);
      expect(s.change).toBe(Number(s.tpt.pred === s.target) - Number(s.base.pred === s.target));
    }
    // Lines in index order; indices are positions 0..4 of the sample order, one of them the skipped file.
    const skipped = readJsonLines<SkippedRecord>(join(result.dir, 'skipped.jsonl')).records;
    expect(samples.map((s) => s.index)).toEqual([...samples.map((s) => s.index)].sort((a, b) => a - b));
    expect([...samples.map((s) => s.index), ...skipped.map((s) => s.index)].sort()).toEqual([0, 1, 2, 3, 4]);

    const config = JSON.parse(readText(result.dir, 'config.json'));
    expect(config).toMatchObject({ config: reference.config, backend: 'wasm', engine: { name: 'tfjs', provider: 'wasm' }, version: expect.any(String) });
    const summary = readSummary(result.dir);
    expect(summary).toMatchObject({ finished: true, samples_done: 4, files_skipped: 1, samples_total: 5, backend: 'wasm', engine: { name: 'tfjs', provider: 'wasm' } });
    const correct = samples.filter((s) => s.tpt.pred === s.target).length;
    expect(summary.top1_tpt).toBe(correct / 4);
    expect(summary.improved).toBe(samples.filter((s) => s.change > 0).length);
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5]);

    const log = readText(result.dir, 'log.jsonl').trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(log.map((l) => l.msg)).toEqual(expect.arrayContaining(['run started', 'sample', 'run finished']));
  });

  it('skips and counts a corrupt image without stopping', () => {
    const skipped = readJsonLines<SkippedRecord>(join(reference.result.dir, 'skipped.jsonl')).records;
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ file: expect.stringMatching(/^n\d{8}\/broken\.jpg$/), error: expect.stringMatching(/broken\.jpg/) });
  });

  it("writes the seed's TensorBoard tags with the tracker's values", () => {
    const files = readEventDir(reference.result.dir);
    expect(files.every((f) => f.truncated === null)).toBe(true);
    const rows = scalarRows(files);
    const tags = new Set(rows.map((r) => r.tag));
    for (const tag of ['Loss/value', 'AccuracyTOP1/Base', 'AccuracyTOP1/TPT_coop', 'Samples/TPTchange', 'KL/Base_vs_True', 'Samples-Global/NImproved', 'AccuracyTOP1/Final_TPT_coop', 'ECE/Final_Base']) {
      expect(tags.has(tag), tag).toBe(true);
    }
    const samples = readJsonLines<SampleRecord>(join(reference.result.dir, 'samples.jsonl')).records;
    const losses = rows.filter((r) => r.tag === 'Loss/value');
    expect(losses.map((r) => r.step)).toEqual(samples.map((s) => s.index));
    expect(losses.map((r) => r.value)).toEqual(samples.map((s) => Math.fround(s.loss)));
    const summary = readSummary(reference.result.dir);
    expect(rows.find((r) => r.tag === 'AccuracyTOP1/Final_TPT_coop')!.value).toBe(Math.fround(summary.top1_tpt));
    const values = files.flatMap((f) => f.events.flatMap((e) => e.values));
    // save_imgs: one image per sample whose correctness TPT changed, under the seed's tag.
    const images = values.filter((v) => v.kind === 'image').map((v) => v.tag);
    expect(images).toEqual(samples.filter((s) => s.change !== 0).map((s) => expect.stringMatching(new RegExp(`^(Improved|Worsened)_Images/img_${s.index}:`))));
    const texts = values.filter((v) => v.kind === 'text').map((v) => v.tag);
    expect(texts).toEqual(expect.arrayContaining(['Config', 'statistics/perclass', 'statistics/global']));
  });

  it('records improved and worsened samples, with their images under the seed\'s tags', async () => {
    // A processor with scripted logits: TPT fixes even positions and breaks odd ones.
    const config = tinyRunConfig(datasetRoot, ['save_imgs=true', 'dataset_shuffle=false']);
    const logitsWithTop = (top: number) => Float32Array.from({ length: 200 }, (_, k) => (k === top ? 5 : 0));
    const result = await runTpt(config, {
      createProcessor: () => ({
        concurrency: 1,
        process: async (_views, sample) => {
          const wrong = (sample.target + 1) % 200;
          const fixes = sample.position % 2 === 0;
          return { baseLogits: logitsWithTop(fixes ? wrong : sample.target), tptLogits: logitsWithTop(fixes ? sample.target : wrong), loss: 1, seconds: { imageTower: 0, tuning: 0, evaluation: 0 } };
        },
        close: async () => undefined,
      }),
    });
    const samples = readJsonLines<SampleRecord>(join(result.dir, 'samples.jsonl')).records;
    expect(samples.map((s) => s.change)).toEqual([-1, 1, -1, 1]); // position 0 is broken.jpg (skipped)
    expect(result.summary).toMatchObject({ improved: 2, worsened: 2, top1_base: 0.5, top1_tpt: 0.5 });
    const images = readEventDir(result.dir).flatMap((f) => f.events.flatMap((e) => e.values.filter((v) => v.kind === 'image').map((v) => ({ step: e.step, v }))));
    expect(images.map(({ v }) => v.tag)).toEqual(
      samples.map((s) => `${s.change > 0 ? 'Improved' : 'Worsened'}_Images/img_${s.index}:${s.target}-${IMAGENET_A_CLASSNAMES[s.target]}`),
    );
    expect(images.map(({ step }) => step)).toEqual(samples.map((s) => s.target)); // the seed passes the class as the step
  });

  it('keeps what was done when a sample fails, and reports the failure', async () => {
    const config = tinyRunConfig(datasetRoot, ['dataset_shuffle=false']);
    const failing = runTpt(config, {
      createProcessor: async (cfg, engine, inputs) => {
        const owned = tunerOver(cfg, await engine.create(inputs.weights, inputs.setup));
        return {
          concurrency: 1,
          process: async (views, sample) => {
            if (sample.position === 2) throw new Error('simulated failure');
            return owned.tuner.tuneSample(views);
          },
          close: () => owned.dispose(),
        };
      },
    });
    await expect(failing).rejects.toThrow('simulated failure');
    const dir = join(config.out_dir, readdirSync(config.out_dir)[0]!);
    const done = readJsonLines<SampleRecord>(join(dir, 'samples.jsonl')).records.length + readJsonLines<SkippedRecord>(join(dir, 'skipped.jsonl')).records.length;
    expect(done).toBe(2);
    expect(readSummary(dir)).toMatchObject({ finished: false });
  });

  it('resumes an interrupted run (with 2 worker threads) to the same samples.jsonl, summary and events as an uninterrupted one', async () => {
    // Worker threads may finish samples out of order; the run folder must not show it.
    const config = tinyRunConfig(datasetRoot, ['save_logits=true', 'save_imgs=true', 'workers=2']);
    const first = await runTpt(config, { stopAfter: 2 });
    expect(first.status).toBe('interrupted');
    expect(readSummary(first.dir)).toMatchObject({ finished: false });
    const partial = readJsonLines<SampleRecord>(join(first.dir, 'samples.jsonl')).records.length;
    const partialSkipped = readJsonLines<SkippedRecord>(join(first.dir, 'skipped.jsonl')).records.length;
    expect(partial + partialSkipped).toBe(2);

    const progress: ProgressSnapshot[] = [];
    // The worker threads hold the models: this thread allocates no tensor while they tune.
    const tensorsHere = tf.memory().numTensors;
    const tensorsDuring: number[] = [];
    const second = await runTpt(config, {
      reporter: { ...recordingReporter(progress), progress: (p) => (progress.push(p), tensorsDuring.push(tf.memory().numTensors)) },
    });
    expect(second.status).toBe('finished');
    expect(new Set(tensorsDuring)).toEqual(new Set([tensorsHere]));
    expect(progress.map((p) => p.done)).toEqual([3, 4, 5]); // continued after the last finished position
    expect(readText(second.dir, 'samples.jsonl')).toBe(readText(reference.result.dir, 'samples.jsonl'));
    expect(readText(second.dir, 'skipped.jsonl')).toBe(readText(reference.result.dir, 'skipped.jsonl'));
    expect(withoutTimings(readSummary(second.dir))).toEqual(withoutTimings(readSummary(reference.result.dir)));
    expect(readdirSync(second.dir).filter((f) => f.startsWith('events.out.tfevents.'))).toHaveLength(2);
    expect(scalarTriples(second.dir)).toEqual(scalarTriples(reference.result.dir));

    // An already finished run returns before it builds any model (or starts worker threads).
    const third = await runTpt(config, {
      createProcessor: () => {
        throw new Error('an already finished run needs no processor');
      },
    });
    expect(third.status).toBe('already-finished');
    expect(third.summary.engine).toEqual(readSummary(reference.result.dir).engine);
    expect(withoutTimings(third.summary)).toEqual(withoutTimings(readSummary(reference.result.dir)));
  });
});
