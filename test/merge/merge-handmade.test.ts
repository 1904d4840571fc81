import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mergeShards } from '../../src/merge/merge-shards.js';
import { readEventDir, scalarRows } from '../../src/metrics/event-reader.js';
import { summarizeRecords, TIMING_KEYS } from '../../src/run/summary.js';
import type { SampleRecord } from '../../src/run/records.js';
import { fixtureConfig, line, pred, summaryOf, writeRunFolder } from '../report/run-fixtures.js';

// Six samples of one run: right/wrong in every combination, so improved, worsened and both top-k differ.
const ALL: SampleRecord[] = [
  line(0, 1, pred(1, 0.9), pred(1, 0.95)),
  line(1, 2, pred(5, 0.5, [2]), pred(2, 0.6)),
  line(2, 3, pred(3, 0.3), pred(7, 0.4)),
  line(3, 4, pred(8, 0.2), pred(9, 0.25)),
  line(4, 5, pred(5, 0.7), pred(5, 0.8)),
  line(5, 6, pred(1, 0.45), pred(6, 0.55)),
];

let root: string;

function shard(name: string, index: number, count: number, over: Record<string, unknown> = {}, finished = true): string {
  const mine = ALL.filter((r) => r.index % count === index);
  return writeRunFolder(
    join(root, name),
    fixtureConfig({ shard: `${index}/${count}`, ...over }),
    mine,
    summaryOf({ finished, samples_done: mine.length, samples_total: mine.length, elapsed_seconds: 10 * (index + 1) }),
  );
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tpt-merge-hand-'));
});

describe('tpt merge on hand-made shard folders', () => {
  it('gives the unsharded samples in index order, their summary, config with shard null, and events', () => {
    const s0 = shard('s0', 0, 2);
    const s1 = shard('s1', 1, 2, { out_dir: 'elsewhere', backend: 'cpu' }); // non-result keys may differ
    writeFileSync(join(s1, 'skipped.jsonl'), `${JSON.stringify({ index: 7, file: 'n01498041/bad.jpg', error: 'corrupt' })}\n`);
    const out = join(root, 'merged');
    const result = mergeShards([s1, s0], out);
    expect(result).toMatchObject({ shards: 2, samples: 6, skipped: 1 });

    const lines = readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    expect(lines).toEqual(ALL);
    expect(readFileSync(join(out, 'skipped.jsonl'), 'utf8')).toContain('"index":7');

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    const expected = summarizeRecords(ALL, {
      runName: '',
      finished: true,
      samplesTotal: 6,
      filesSkipped: 1,
      elapsedSeconds: 30,
      timedSamples: 7,
      backend: '',
      workers: 1,
    }) as unknown as Record<string, unknown>;
    for (const key of Object.keys(expected)) {
      if ((TIMING_KEYS as readonly string[]).includes(key) || key === 'run_name') continue;
      expect(summary[key], key).toEqual(expected[key]);
    }
    // by hand: top-1 base {0,2,4} = 3/6, TPT {0,1,4,5} = 4/6; improved {1,5}, worsened {2}
    expect(summary).toMatchObject({ finished: true, samples_done: 6, files_skipped: 1, top1_base: 0.5, top1_tpt: 4 / 6, improved: 2, worsened: 1, elapsed_seconds: 30 });

    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { config: Record<string, unknown>; run_name: string };
    expect(config.config).toEqual(fixtureConfig({ shard: null }));
    expect(config.run_name).not.toContain('shard');

    const rows = scalarRows(readEventDir(out));
    expect(rows.filter((r) => r.tag === 'Loss/value').map((r) => r.step)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rows.filter((r) => r.tag === 'Samples/TPTcumulative_changed').map((r) => r.value)).toEqual([0, 1, 0, 0, 0, 1]);
    expect(rows.find((r) => r.tag === 'AccuracyTOP1/Final_TPT_coop')?.value).toBeCloseTo(4 / 6, 6);
  });

  it('refuses shards of different configs, naming the key', () => {
    expect(() => mergeShards([shard('d0', 0, 2), shard('d1', 1, 2, { n_aug: 8 })], join(root, 'm-diff'))).toThrow(/n_aug: 4 vs 8/);
  });

  it('says which shards are missing', () => {
    expect(() => mergeShards([shard('m0', 0, 3), shard('m2', 2, 3)], join(root, 'm-missing'))).toThrow(/shard 1\/3 of 3 missing/);
  });

  it('refuses the same shard twice and overlapping samples', () => {
    const a = shard('o0', 0, 2);
    expect(() => mergeShards([a, a, shard('o1', 1, 2)], join(root, 'm-twice'))).toThrow(/same shard/);
    // a folder whose records belong to another slice
    const wrong = writeRunFolder(join(root, 'o1-wrong'), fixtureConfig({ shard: '1/2' }), ALL.slice(0, 2), summaryOf({ finished: true }));
    expect(() => mergeShards([a, wrong], join(root, 'm-overlap'))).toThrow(/both hold sample 0/);
  });

  it('refuses unfinished shards and an output folder that already holds a run', () => {
    expect(() => mergeShards([shard('u0', 0, 2), shard('u1', 1, 2, {}, false)], join(root, 'm-unfinished'))).toThrow(/unfinished shard: u1/);
    const used = shard('used', 0, 1);
    expect(() => mergeShards([shard('v0', 0, 2), shard('v1', 1, 2)], used)).toThrow(/already holds a run/);
    expect(existsSync(join(root, 'm-unfinished'))).toBe(false);
  });
});

describe('the merged run records its engine and what ran, and is named for the unsharded run', () => {
  const ENGINE = { name: 'onnxruntime', provider: 'cpu', detail: 'onnxruntime-node 1.20' };
  const RAN = { method: 'tpt', arch: 'ViT-B/16', context: { source: 'weights-folder', path: 'weights/vit-coop' } };
  function recordedShard(name: string, index: number, engine: Record<string, unknown>): string {
    const mine = ALL.filter((r) => r.index % 2 === index);
    return writeRunFolder(
      join(root, 'named', name),
      fixtureConfig({ shard: `${index}/2`, seed: 5 }),
      mine,
      summaryOf({ samples_done: mine.length, samples_total: mine.length, engine, ...RAN }),
    );
  }

  it('keeps the shards\' engine and run record in summary.json and config.json; default --out is the unsharded folder', () => {
    const dirs = [recordedShard('a_shard=0of2', 0, ENGINE), recordedShard('a_shard=1of2', 1, ENGINE)];
    const result = mergeShards(dirs);
    const summary = JSON.parse(readFileSync(join(result.dir, 'summary.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(result.dir, 'config.json'), 'utf8'));
    expect(summary.engine).toEqual(ENGINE);
    expect(config.engine).toEqual(ENGINE);
    expect(summary).toMatchObject(RAN);
    expect(config).toMatchObject(RAN);
    // the folder is the one the unsharded run would have written: its name is run_name (and the report's `run`)
    expect(result.dir).toBe(join(root, 'named', config.run_name));
    expect(summary.run_name).toBe(config.run_name);
    expect(config.run_name).toMatch(/_cfg=[0-9a-f]{8}$/);
  });

  it('lists each engine when the shards ran on different ones', () => {
    const dirs = [recordedShard('b0', 0, ENGINE), recordedShard('b1', 1, { name: 'tfjs', provider: 'wasm', detail: 'tfjs 4' })];
    const summary = mergeShards(dirs, join(root, 'named', 'b-merged')).summary;
    expect(summary.engine?.detail).toMatch(/different engines: onnxruntime cpu .*; tfjs wasm/);
  });
});
