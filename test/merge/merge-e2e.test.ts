import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { mergeShards } from '../../src/merge/merge-shards.js';
import { readEventDir } from '../../src/metrics/event-reader.js';
import { TIMING_KEYS } from '../../src/run/summary.js';
import { runTpt } from '../../src/tta/coordinator.js';
import type { RunTptResult } from '../../src/tta/coordinator.js';
import { tinyRunConfig, writeTinyDataset } from '../tpt/tiny-dataset.js';

/**
 * The sharding contract end to end: the tiny CLIP on a tiny dataset (4 images and a corrupt file), once
 * unsharded and once as 2 shards, then `tpt merge`: the merged folder must be the unsharded one.
 */

let unsharded: RunTptResult;
let shards: RunTptResult[];
let mergedDir: string;

const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');

/** Every event value except wall times, as comparable strings, sorted (shards ran at other times). */
function eventValues(dir: string): string[] {
  const out: string[] = [];
  for (const file of readEventDir(dir)) {
    for (const event of file.events) {
      for (const v of event.values) {
        const payload =
          v.kind === 'scalar' ? String(v.value) : v.kind === 'text' ? v.text : v.kind === 'image' ? Buffer.from(v.png).toString('base64') : v.kind === 'hparams' ? JSON.stringify(v.data.sessionStartInfo?.hparams ?? v.data.experiment?.hparamInfos ?? v.data.sessionEndInfo?.status ?? null) : '';
        out.push(`${v.kind}|${v.tag}|${event.step}|${payload}`);
      }
    }
  }
  return out.sort();
}

beforeAll(async () => {
  await initBackend('wasm');
  const dataset = await writeTinyDataset({ classes: 2, perClass: 2, corrupt: true });
  const config = tinyRunConfig(dataset, ['save_imgs=true', 'n_aug=3', 'selection_p_all=0.5']);
  unsharded = await runTpt(config);
  const outDir = JSON.stringify(config.out_dir); // same out_dir: shard folders get their own names
  shards = [];
  for (const shard of ['0/2', '1/2']) shards.push(await runTpt(tinyRunConfig(dataset, ['save_imgs=true', 'n_aug=3', 'selection_p_all=0.5', `out_dir=${outDir}`, `shard="${shard}"`])));
  mergedDir = join(mkdtempSync(join(tmpdir(), 'tpt-merged-')), 'merged');
  mergeShards(shards.map((s) => s.dir).reverse(), mergedDir);
});

describe('merging the shards of a run', () => {
  it('ran each shard on part of the samples', () => {
    expect(unsharded.status).toBe('finished');
    expect(shards.map((s) => s.status)).toEqual(['finished', 'finished']);
    expect(shards.map((s) => s.summary.samples_done + s.summary.files_skipped)).toEqual([3, 2]);
  });

  it("gives the unsharded run's samples.jsonl and skipped.jsonl, line for line", () => {
    expect(read(mergedDir, 'samples.jsonl')).toBe(read(unsharded.dir, 'samples.jsonl'));
    expect(read(mergedDir, 'skipped.jsonl')).toBe(read(unsharded.dir, 'skipped.jsonl'));
  });

  it("gives the unsharded run's summary (apart from timings)", () => {
    const strip = (text: string) => {
      const s = JSON.parse(text) as Record<string, unknown>;
      for (const k of TIMING_KEYS) delete s[k];
      return s;
    };
    expect(strip(read(mergedDir, 'summary.json'))).toEqual(strip(read(unsharded.dir, 'summary.json')));
    // the engine is a timing key, but the merged summary still says which engine ran the shards
    const merged = JSON.parse(read(mergedDir, 'summary.json')) as Record<string, unknown>;
    expect(merged.engine).toEqual(shards[0]!.summary.engine);
    expect(merged.engine).toBeDefined();
    // what ran, read from the weights: the tiny CLIP with the tiny CoOp file
    expect(merged).toMatchObject({ method: 'tpt', context: { source: 'coop-file' } });
  });

  it("gives the unsharded run's config and name", () => {
    const merged = JSON.parse(read(mergedDir, 'config.json')) as Record<string, unknown>;
    const original = JSON.parse(read(unsharded.dir, 'config.json')) as Record<string, unknown>;
    expect(merged.config).toEqual(original.config);
    expect(merged.run_name).toBe(original.run_name);
  });

  it("gives the unsharded run's TensorBoard events: every scalar, text, image and HParams value", () => {
    // images appear only for samples whose correctness changed; when there are some, they must match too
    expect(eventValues(mergedDir)).toEqual(eventValues(unsharded.dir));
  });
});
