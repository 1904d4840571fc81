import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { checkConfigConsistency } from '../../src/config/cross-checks.js';
import type { TptConfig } from '../../src/config/schema.js';
import type { TptError } from '../../src/errors.js';
import { readJsonLines } from '../../src/run/jsonl.js';
import type { StateRecord } from '../../src/run/online-state.js';
import { mergeShards } from '../../src/merge/merge-shards.js';
import { runFolderPath } from '../../src/run/run-folder.js';
import { runTpt } from '../../src/tta/coordinator.js';
import { spawnTpt, writeConfigFile } from '../robust/cli.js';
import { readSummary, readText, withoutTimings } from '../tpt/run-folder-reads.js';
import { tinyRunConfig, writeTinyDataset } from '../tpt/tiny-dataset.js';
import { ensureDistBuilt } from '../workers/ensure-dist.js';

/**
 * Online runs as a run folder holds them: state.jsonl beside samples.jsonl, summary.json saying online with
 * the stream's order hash, a resumed run (stopped, killed with SIGKILL at sample 6, or killed between a
 * sample's state line and its record) equal to the uninterrupted one byte for byte, worker threads that do
 * not change results, and shards refused unless `online_shards: independent`.
 */

const SAMPLES = 15;
let datasetRoot: string;
const references = new Map<string, { config: TptConfig; dir: string }>();

const METHOD_SETS: Record<string, string[]> = {
  tda: ['method="tda"'],
  'dmn-zs': ['method="dmn-zs"'],
  boostadapter: ['method="boostadapter"'],
};

function configOf(method: string, extra: string[] = []): TptConfig {
  return tinyRunConfig(datasetRoot, ['n_aug=9', 'save_logits=true', ...METHOD_SETS[method]!, ...extra]);
}

function inNewFolder(config: TptConfig): TptConfig {
  return { ...config, out_dir: mkdtempSync(join(tmpdir(), 'tpt-online-runs-')) };
}

function expectEqualToReference(method: string, dir: string): void {
  const reference = references.get(method)!;
  expect(readText(dir, 'samples.jsonl')).toBe(readText(reference.dir, 'samples.jsonl'));
  expect(readText(dir, 'state.jsonl')).toBe(readText(reference.dir, 'state.jsonl'));
  expect(withoutTimings(readSummary(dir))).toEqual(withoutTimings(readSummary(reference.dir)));
}

beforeAll(async () => {
  await initBackend('wasm');
  datasetRoot = await writeTinyDataset({ classes: 3, perClass: 5 });
  for (const method of Object.keys(METHOD_SETS)) {
    const config = configOf(method);
    const result = await runTpt(config);
    references.set(method, { config, dir: result.dir });
  }
}, 300_000);

describe.each(Object.keys(METHOD_SETS))('%s', (method) => {
  it('records one state line per sample, in stream order, and a summary that says online with the order hash', () => {
    const { dir } = references.get(method)!;
    const samples = readJsonLines<{ index: number }>(join(dir, 'samples.jsonl')).records;
    const state = readJsonLines<StateRecord>(join(dir, 'state.jsonl')).records;
    expect(samples).toHaveLength(SAMPLES);
    expect(state.map((r) => r.index)).toEqual(samples.map((r) => r.index));
    const summary = readSummary(dir);
    expect(summary).toMatchObject({ finished: true, online: true, workers: 1 });
    expect(summary.stream_order_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.online_shards).toBeUndefined();
  });

  it('stopped after 6 samples and resumed: equal to the uninterrupted run, byte for byte', async () => {
    const config = inNewFolder(references.get(method)!.config);
    const first = await runTpt(config, { stopAfter: 6 });
    expect(first.status).toBe('interrupted');
    const resumed = await runTpt(config);
    expect(resumed.status).toBe('finished');
    expectEqualToReference(method, resumed.dir);
  });
});

describe('kill -9', () => {
  it('at sample 6 (tpt run, SIGKILL): the resumed run equals the uninterrupted one byte for byte', async () => {
    ensureDistBuilt();
    const config = inNewFolder(references.get('tda')!.config);
    const dir = runFolderPath(config).dir;
    const run = spawnTpt(['run', '--config', writeConfigFile(config, join(config.out_dir, 'config.json'))]);
    onTestFinished(() => {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    });
    const deadline = Date.now() + 120_000;
    // Poll state.jsonl: the kill lands as its 6th line appears, before or after the sample's own line.
    while (!(existsSync(join(dir, 'state.jsonl')) && readFileSync(join(dir, 'state.jsonl'), 'utf8').split('\n').length > 6)) {
      if (Date.now() > deadline) throw new Error('no 6 state lines after 120 s');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    const done = readJsonLines(join(dir, 'samples.jsonl')).records.length;
    expect(done).toBeLessThan(SAMPLES);
    const resumed = await runTpt(config);
    expect(resumed.status).toBe('finished');
    expectEqualToReference('tda', resumed.dir);
  }, 240_000);

  it("between a sample's state line and its record: the extra state line is cut off and the sample runs again", async () => {
    const config = inNewFolder(references.get('boostadapter')!.config);
    const first = await runTpt(config, { stopAfter: 6 });
    // The 7th sample's state line as the uninterrupted run wrote it, without its samples.jsonl line.
    const seventh = readText(references.get('boostadapter')!.dir, 'state.jsonl').split('\n')[6]!;
    appendFileSync(join(first.dir, 'state.jsonl'), `${seventh}\n`);
    const resumed = await runTpt(config);
    expectEqualToReference('boostadapter', resumed.dir);
  });

  it('a state file that lacks recorded samples is refused with a hint (the run cannot resume without it)', async () => {
    const config = inNewFolder(references.get('dmn-zs')!.config);
    const first = await runTpt(config, { stopAfter: 4 });
    const lines = readText(first.dir, 'state.jsonl').split('\n');
    (await import('node:fs')).writeFileSync(join(first.dir, 'state.jsonl'), `${lines.slice(0, 2).join('\n')}\n`);
    await expect(runTpt(config)).rejects.toMatchObject({ code: 'RUN_FOLDER_CORRUPT', message: expect.stringContaining('2 state records for 4 samples') });
  });
});

describe('order and threads', () => {
  it('workers: 2 processes the stream in one thread, in order: the same records', async () => {
    const config = inNewFolder({ ...references.get('dmn-zs')!.config, workers: 2 });
    const result = await runTpt(config);
    expectEqualToReference('dmn-zs', result.dir);
  });

  it('another seed is another order: another hash, other state', async () => {
    const config = inNewFolder({ ...references.get('tda')!.config, seed: 7 });
    const result = await runTpt(config);
    expect(readSummary(result.dir).stream_order_sha256).not.toBe(readSummary(references.get('tda')!.dir).stream_order_sha256);
  });
});

describe('shards', () => {
  it('an online method over a shard is refused unless online_shards is independent; the summary says so', async () => {
    const sharded = { ...references.get('tda')!.config, shard: '0/2' };
    let error: TptError | undefined;
    try {
      checkConfigConsistency(sharded);
    } catch (e) {
      error = e as TptError;
    }
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.message).toContain('tda is an online method');
    expect(error?.hint).toContain('online_shards');
    const accepted = inNewFolder({ ...sharded, online_shards: 'independent' });
    checkConfigConsistency(accepted);
    const result = await runTpt(accepted);
    expect(readSummary(result.dir)).toMatchObject({ online: true, online_shards: 'independent', samples_total: 8 });
  });

  it('tpt merge of independent online shards: online, online_shards independent, the whole stream\'s order hash', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'tpt-online-shards-'));
    const dirs = [];
    for (const shard of ['0/2', '1/2']) {
      const result = await runTpt({ ...references.get('boostadapter')!.config, out_dir: outDir, shard, online_shards: 'independent' });
      dirs.push(result.dir);
    }
    const merged = mergeShards(dirs, join(outDir, 'merged'));
    expect(merged.summary).toMatchObject({ online: true, online_shards: 'independent', samples_done: SAMPLES });
    expect(merged.summary.stream_order_sha256).toBe(readSummary(references.get('boostadapter')!.dir).stream_order_sha256);
  });

  it('online_shards with an episodic method is refused', () => {
    expect(() => checkConfigConsistency({ ...references.get('tda')!.config, method: 'tpt', online_shards: 'independent' })).toThrow(/online_shards: applies to the online methods/);
  });
});
