import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { checkConfigConsistency } from '../../src/config/cross-checks.js';
import type { TptConfig } from '../../src/config/schema.js';
import { TptError } from '../../src/errors.js';
import { runFolderPath } from '../../src/run/run-folder.js';
import { runTpt } from '../../src/tta/coordinator.js';
import { ensureDistBuilt } from '../workers/ensure-dist.js';
import { readSummary, readText } from '../tpt/run-folder-reads.js';
import { tinyRunConfig, writeTinyDataset } from '../tpt/tiny-dataset.js';

/**
 * An online method's state survives a stopped, a killed (SIGKILL) and a torn run: the resumed samples.jsonl
 * equals the uninterrupted one byte for byte. TDA on a tiny ImageNet-A-shaped stream of 12 samples with the
 * tiny CLIP (20 views: its query is the mean of the int(20·0.1) = 2 most confident), so its caches fill,
 * replace entries and feed every later score.
 */

let datasetRoot: string;
let uninterrupted: { dir: string; samples: string };

const tdaSets = ['method="tda"', 'n_aug=19', 'save_logits=true'];

function tdaConfig(extra: string[] = []): TptConfig {
  return tinyRunConfig(datasetRoot, [...tdaSets, ...extra]);
}

const lineCount = (dir: string) => (existsSync(join(dir, 'samples.jsonl')) ? readText(dir, 'samples.jsonl').split('\n').filter((l) => l !== '').length : 0);

beforeAll(async () => {
  await initBackend('wasm');
  datasetRoot = await writeTinyDataset({ classes: 3, perClass: 4 });
  const result = await runTpt(tdaConfig());
  expect(result.status).toBe('finished');
  uninterrupted = { dir: result.dir, samples: readText(result.dir, 'samples.jsonl') };
}, 300_000);

describe('online state across resume (tda)', () => {
  it('records the run as online with the stream order, and the caches change the scores', () => {
    const summary = readSummary(uninterrupted.dir);
    expect(summary.samples_done).toBe(12);
    expect(summary.online).toBe(true);
    expect(summary.stream_order_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.online_shards).toBeUndefined();
    // The state after the 12th sample: every sample entered the positive cache under its prediction (3 per class at most).
    const state = JSON.parse(readText(uninterrupted.dir, 'online-state.even.json')) as { samples: number; method: string; state: { positive: Record<string, unknown[]> } };
    expect(state.samples).toBe(12);
    expect(state.method).toBe('tda');
    const sizes = Object.values(state.state.positive).map((entries) => entries.length);
    expect(sizes.every((n) => n >= 1 && n <= 3)).toBe(true);
  });

  it('stopped after 5 samples and resumed: the same samples.jsonl, byte for byte', async () => {
    const config = tdaConfig();
    const first = await runTpt(config, { stopAfter: 5 });
    expect(first.status).toBe('interrupted');
    expect(lineCount(first.dir)).toBe(5);
    const second = await runTpt(config);
    expect(second.status).toBe('finished');
    expect(readText(second.dir, 'samples.jsonl')).toBe(uninterrupted.samples);
  }, 300_000);

  it('killed between a snapshot and its line (line 6 cut off): resumes from snapshot 5 and redoes sample 6 exactly', async () => {
    const config = tdaConfig();
    const first = await runTpt(config, { stopAfter: 6 });
    const lines = readText(first.dir, 'samples.jsonl').split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(6);
    // Snapshot 6 is in the even file; cutting line 6 leaves the folder as a kill right before the append would.
    writeFileSync(join(first.dir, 'samples.jsonl'), `${lines.slice(0, 5).join('\n')}\n`);
    expect((JSON.parse(readText(first.dir, 'online-state.even.json')) as { samples: number }).samples).toBe(6);
    const second = await runTpt(config);
    expect(second.status).toBe('finished');
    expect(readText(second.dir, 'samples.jsonl')).toBe(uninterrupted.samples);
  }, 300_000);

  it('refuses to resume lines whose state is missing', async () => {
    const config = tdaConfig();
    const first = await runTpt(config, { stopAfter: 3 });
    writeFileSync(join(first.dir, 'online-state.odd.json'), '{"samples": 1, "method": "tda", "state": {}}');
    const error = await runTpt(config).then(
      () => undefined,
      (e: unknown) => e as TptError,
    );
    expect(error?.code).toBe('RUN_FOLDER_CORRUPT');
    expect(error?.message).toContain('no saved state after sample 3');
    expect(error?.hint).toContain('--fresh');
  }, 300_000);

  it('killed with SIGKILL at sample 6 of 12 and resumed: the same samples.jsonl, byte for byte', async () => {
    ensureDistBuilt();
    const config = tdaConfig();
    const dist = (path: string) => JSON.stringify(new URL(`../../dist/${path}`, import.meta.url).href);
    const script = `
      const { initBackend } = await import(${dist('backend.js')});
      const { runTpt } = await import(${dist('tta/coordinator.js')});
      await initBackend('wasm');
      await runTpt(JSON.parse(process.argv[1]));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'inherit'] });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const { dir } = runFolderPath(config);
    let killedAt = 0;
    while (child.exitCode === null) {
      killedAt = lineCount(dir);
      if (killedAt >= 6) {
        child.kill('SIGKILL');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    const atKill = lineCount(dir);
    expect(atKill).toBeGreaterThanOrEqual(6);
    expect(atKill).toBeLessThan(12);
    const resumed = await runTpt(config);
    expect(resumed.status).toBe('finished');
    expect(readFileSync(join(resumed.dir, 'samples.jsonl'), 'utf8')).toBe(uninterrupted.samples);
  }, 300_000);

  it('boostadapter (the same state machinery): stopped after 5 and resumed equals its uninterrupted run', async () => {
    const whole = await runTpt(tdaConfig(['method="boostadapter"']));
    const config = tdaConfig(['method="boostadapter"']);
    expect((await runTpt(config, { stopAfter: 5 })).status).toBe('interrupted');
    const resumed = await runTpt(config);
    expect(resumed.status).toBe('finished');
    expect(readText(resumed.dir, 'samples.jsonl')).toBe(readText(whole.dir, 'samples.jsonl'));
    expect(readText(resumed.dir, 'samples.jsonl')).not.toBe(uninterrupted.samples);
  }, 300_000);

  it('refuses an online method over a shard unless online_shards is independent, and records it', async () => {
    let error: TptError | undefined;
    try {
      checkConfigConsistency(tdaConfig(['shard="0/2"']));
    } catch (e) {
      error = e as TptError;
    }
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.message).toBe('config: shard: tda is online (its state carries across the stream), so shard 0/2 would adapt on its own slice and change the results');
    expect(error?.hint).toContain("online_shards to 'independent'");
    const config = tdaConfig(['shard="0/2"', 'online_shards="independent"']);
    checkConfigConsistency(config);
    const result = await runTpt(config);
    const summary = readSummary(result.dir);
    expect(summary.online).toBe(true);
    expect(summary.online_shards).toBe('independent');
    expect(summary.samples_done).toBe(6);
  }, 300_000);
});
