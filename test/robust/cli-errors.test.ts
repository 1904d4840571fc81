import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TptConfig } from '../../src/config/schema.js';
import { runFolderPath } from '../../src/run/run-folder.js';
import { LOCK_DIR } from '../../src/run/run-lock.js';
import { tinyRunConfig, writeTinyDataset } from '../tpt/tiny-dataset.js';
import { ensureDistBuilt } from '../workers/ensure-dist.js';
import { spawnTpt, writeConfigFile } from './cli.js';

/**
 * "This is a bug" means a bug: every failure that input, a file or the environment causes reaches the user
 * as one line of error and one hint, with no stack trace and a non-zero exit status, through the real
 * command line. --debug / TPT_DEBUG=1 add the stack.
 */

let base: TptConfig;
let work: string;

beforeAll(async () => {
  ensureDistBuilt();
  const dataset = await writeTinyDataset({ classes: 1, perClass: 1 });
  base = tinyRunConfig(dataset);
  work = mkdtempSync(join(tmpdir(), 'tpt-cli-errors-'));
});

const configWith = (name: string, changes: Partial<TptConfig>) => writeConfigFile({ ...base, ...changes }, join(work, `${name}.json`));

function expectUserError(result: { code: number | null; stderr: string }, code: RegExp): void {
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(result.stderr).not.toMatch(/unexpected error|this is a bug/);
  expect(result.stderr).not.toMatch(/^\s+at /m); // no stack frames
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^tpt: \S/);
  expect(lines[0]).toMatch(code);
  expect(lines[1]).toMatch(/^ {2}→ \S/);
  expect(result.code).not.toBe(0);
  expect(result.code).not.toBeNull();
}

describe('user errors through `node bin/tpt.js`', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['a missing config file', () => ['run', '--config', join(work, 'missing.json')], /cannot read .*missing\.json/],
    ['an unknown --set key', () => ['run', '--set', 'n_augs=3'], /unknown key "n_augs"/],
    ['an invalid value', () => ['run', '--set', 'batch_size=2'], /batch_size: must be 1/],
    ['a missing dataset', () => ['run', '--config', configWith('no-data', { imagenet_a_path: join(work, 'no-such-dataset') })], /cannot read the dataset folder/],
    ['missing weights', () => ['run', '--config', configWith('no-weights', { clip_weights: join(work, 'RN50.pt') })], /RN50\.pt.* (do not exist|does not exist)/],
    [
      'a file that is not a checkpoint',
      () => {
        writeFileSync(join(work, 'notes.pt'), 'these are my notes, not weights\n');
        return ['run', '--config', configWith('not-weights', { clip_weights: join(work, 'notes.pt') })];
      },
      /notes\.pt.* not a PyTorch checkpoint/,
    ],
    [
      "a checkpoint OpenAI's build_model cannot build (text width 32: 0 heads)",
      () => ['run', '--config', configWith('narrow', { clip_weights: 'test/fixtures/tiny-clip/unbuildable-text-width-32.pt', coop_weight_path: '' })],
      /unsupported architecture: the text width is 32 .*0 attention heads/,
    ],
    ['an explicit image_size the weights do not take', () => ['run', '--config', configWith('size', { image_size: 224 })], /image_size: 224, but the CLIP weights .* take 64×64/],
    [
      'a run folder held by a live run on another host',
      () => {
        const config = { ...base, out_dir: join(work, 'locked-runs') };
        const lockDir = join(runFolderPath(config).dir, LOCK_DIR);
        mkdirSync(lockDir, { recursive: true });
        writeFileSync(join(lockDir, 'holder.json'), JSON.stringify({ pid: 777, host: 'gpu-node-3', started: '2026-12-01T08:00:00.000Z' }));
        const now = new Date(Date.now() + 60_000); // a heartbeat that stays fresh for the whole test
        utimesSync(lockDir, now, now);
        return ['run', '--config', writeConfigFile(config, join(work, 'locked.json'))];
      },
      /in use by pid 777 on gpu-node-3, started 2026-12-01T08:00:00\.000Z/,
    ],
    [
      'an out_dir below a file',
      () => {
        writeFileSync(join(work, 'a-file'), 'not a folder\n');
        return ['run', '--config', configWith('out-under-file', { out_dir: join(work, 'a-file', 'runs') })];
      },
      /cannot write the run folder .*a-file\/runs\/.*: a part of the path is a file, not a folder \(ENOTDIR\)$/,
    ],
    ['a report of a folder that does not exist', () => ['report', join(work, 'no-runs-here')], /no-runs-here" is not a folder/],
  ];

  for (const [what, args, message] of cases) {
    it(`${what}: one line, one hint, no stack, non-zero exit`, async () => {
      expectUserError(await spawnTpt(args()).done, message);
    });
  }

  it.each([
    [['run', '--confg', 'x.json'], "tpt: unknown option '--confg' (Did you mean --config?)", 'tpt run'],
    [['rnu'], "tpt: unknown command 'rnu' (Did you mean run?)", 'tpt'],
    [['classify', 'a.jpg'], "tpt: required option '--weights <dir|file>' not specified", 'tpt classify'],
    [['dataset', 'verify'], "tpt: missing required argument 'path'", 'tpt dataset verify'],
  ])('a usage error (%j) is the same one line and hint, exit 2, not commander\'s `error:` and exit 1', async (args, line, command) => {
    const result = await spawnTpt(args).done;
    expect(result.stderr.split('\n').filter((l) => l !== '')).toEqual([line, `  → See \`${command} --help\` for the usage and examples.`]);
    expect(result.code).toBe(2);
  });

  it('help and version still exit 0', async () => {
    for (const args of [['--help'], ['run', '--help'], ['--version']]) {
      const result = await spawnTpt(args).done;
      expect(result.code).toBe(0);
      expect(result.stdout).not.toBe('');
    }
  });

  it('prints the stack with --debug or TPT_DEBUG=1', async () => {
    const args = ['run', '--config', join(work, 'missing.json')];
    for (const result of [await spawnTpt([...args, '--debug']).done, await spawnTpt(args, { TPT_DEBUG: '1' }).done]) {
      expect(result.stderr).toMatch(/^tpt: config: cannot read/);
      expect(result.stderr).toContain('[CONFIG_NOT_FOUND] TptError');
      expect(result.stderr).toMatch(/^\s+at /m);
      expect(result.code).toBe(2);
    }
  });
});
