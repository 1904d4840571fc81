import { execFileSync } from 'node:child_process';
import fs, { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend.js';
import type { TptConfig } from '../../src/config/schema.js';
import type { TptError } from '../../src/errors.js';
import { readEventFile } from '../../src/metrics/event-reader.js';
import { frameRecord } from '../../src/metrics/tfevents.js';
import { readJsonLines } from '../../src/run/jsonl.js';
import type { SampleRecord } from '../../src/run/records.js';
import { runFolderPath } from '../../src/run/run-folder.js';
import { buildReport } from '../../src/report/report.js';
import { LOCK_DIR, lockRunFolder } from '../../src/run/run-lock.js';
import { runTpt } from '../../src/tta/coordinator.js';
import { tinyRunConfig, writeTinyDataset } from '../tpt/tiny-dataset.js';
import { ensureDistBuilt } from '../workers/ensure-dist.js';
import { spawnTpt, writeConfigFile } from './cli.js';
import { readSummary, readText, scalarTriples, withoutTimings } from '../tpt/run-folder-reads.js';

/**
 * Runs as clusters and disks treat them: two runs of one config at once, SIGTERM (Slurm, Kubernetes) and a
 * second signal, a disk that fills mid-run (a 300 kB tmpfs) and injected quota / read-only failures, torn
 * tails left in every kind of file. Each ends with whole records only, and the resumed run equals an
 * uninterrupted one (samples.jsonl byte for byte, summary.json, TensorBoard scalars).
 */

let datasetRoot: string;
let reference: { config: TptConfig; dir: string };
const SAMPLES = 15;

const lineCount = (dir: string) => readJsonLines<SampleRecord>(join(dir, 'samples.jsonl')).records.length;

/** The same settings as the reference, in a run folder of their own. */
function sameConfig(): TptConfig {
  return { ...reference.config, out_dir: mkdtempSync(join(tmpdir(), 'tpt-robust-runs-')) };
}

/** Every file of the folder holds whole records: JSONL ends with a newline, event files end on a record. */
function expectWholeRecords(dir: string): void {
  for (const file of readdirSync(dir)) {
    const path = join(dir, file);
    if (file.endsWith('.jsonl')) {
      const text = readFileSync(path, 'utf8');
      expect(text === '' || text.endsWith('\n'), `${file} ends in a torn line`).toBe(true);
      for (const line of text.split('\n').filter((l) => l !== '')) JSON.parse(line);
    } else if (file.includes('tfevents')) {
      expect(readEventFile(path).truncated, `${file} ends in a torn record`).toBeNull();
    }
  }
}

async function expectResumesToReference(config: TptConfig): Promise<void> {
  const resumed = await runTpt(config);
  expect(resumed.status).toBe('finished');
  expect(readText(resumed.dir, 'samples.jsonl')).toBe(readText(reference.dir, 'samples.jsonl'));
  expect(withoutTimings(readSummary(resumed.dir))).toEqual(withoutTimings(readSummary(reference.dir)));
  expect(scalarTriples(resumed.dir)).toEqual(scalarTriples(reference.dir));
  expectWholeRecords(resumed.dir);
  expect(existsSync(join(resumed.dir, LOCK_DIR))).toBe(false);
}

async function untilLines(dir: string, n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(join(dir, 'samples.jsonl')) && readText(dir, 'samples.jsonl').split('\n').length > n)) {
    if (Date.now() > deadline) throw new Error(`no ${n} sample lines in ${dir} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  ensureDistBuilt();
  await initBackend('wasm');
  datasetRoot = await writeTinyDataset({ classes: 3, perClass: 5 });
  // image_size null (the default): the tiny CLIP's 64 px
  const config = tinyRunConfig(datasetRoot, ['image_size=null', 'n_aug=15', 'save_logits=true']);
  const result = await runTpt(config);
  reference = { config, dir: result.dir };
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('image_size', () => {
  it("defaults to null, the weights' input resolution", () => {
    expect(reference.config.image_size).toBeNull();
    expect(readSummary(reference.dir)).toMatchObject({ finished: true, samples_done: SAMPLES });
    expect(JSON.parse(readText(reference.dir, 'config.json')).config.image_size).toBeNull();
  });
});

describe('two runs of one config at once', () => {
  it('the second is refused, naming the holder; the folder holds each sample once', async () => {
    const config = sameConfig();
    const [a, b] = await Promise.allSettled([runTpt(config), runTpt(config)]);
    const outcomes = [a, b].map((r) => r.status);
    expect(outcomes.sort()).toEqual(['fulfilled', 'rejected']);
    const refused = ([a, b].find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as TptError;
    expect(refused.code).toBe('RUN_LOCKED');
    expect(refused.message).toContain(`in use by pid ${process.pid} on `);
    const dir = runFolderPath(config).dir;
    expect(lineCount(dir)).toBe(SAMPLES);
    expect(readText(dir, 'samples.jsonl')).toBe(readText(reference.dir, 'samples.jsonl'));
  });
});

describe('the lock comes before everything slow', () => {
  it('a run refused for its input leaves no empty run folder behind', async () => {
    const config = { ...sameConfig(), imagenet_a_path: join(tmpdir(), 'tpt-no-such-dataset') };
    await expect(runTpt(config)).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND' });
    expect(existsSync(runFolderPath(config).dir)).toBe(false);
  });
});

describe('readers', () => {
  it('tpt report reads a run folder while a run holds its lock', async () => {
    const lock = lockRunFolder(reference.dir);
    try {
      const report = await buildReport([reference.dir]);
      expect(report.rows).toHaveLength(1);
    } finally {
      lock.release();
    }
  });
});

describe('signals', () => {
  it('SIGTERM mid-run: the sample in flight finishes, summary.json tells the truth, exit 143 within seconds, and the rerun resumes', async () => {
    const config = sameConfig();
    const dir = runFolderPath(config).dir;
    const run = spawnTpt(['run', '--config', writeConfigFile(config, join(config.out_dir, 'config.json'))]);
    await untilLines(dir, 2);
    const sent = Date.now();
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(result.code).toBe(143);
    expect(result.stderr).toContain('SIGTERM: stopping after the sample in progress');
    expect(result.stdout).toMatch(/Stopped after \d+ of 15 samples/);
    const done = lineCount(dir);
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(SAMPLES);
    expect(readSummary(dir)).toMatchObject({ finished: false, samples_done: done, interrupted_by: 'SIGTERM' });
    expectWholeRecords(dir);
    expect(existsSync(join(dir, LOCK_DIR))).toBe(false);
    await expectResumesToReference(config);
  });

  it('SIGKILL mid-run, rerun at once: the rerun says it waits for the dead holder, takes the folder over within two beats and resumes to the same results', async () => {
    const config = sameConfig();
    const dir = runFolderPath(config).dir;
    const configFile = writeConfigFile(config, join(config.out_dir, 'config.json'));
    const killed = spawnTpt(['run', '--config', configFile]);
    await untilLines(dir, 2);
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    expect(existsSync(join(dir, LOCK_DIR))).toBe(true); // no exit handler ran
    const started = Date.now();
    const rerun = await spawnTpt(['run', '--config', configFile]).done;
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    const notices = rerun.stderr.split('\n').filter((l) => l.includes('which is gone'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(
      new RegExp(`^\\[tpt\\] .* was locked by pid ${killed.child.pid} on this host, which is gone \\(killed\\?\\): waiting \\d+\\.\\d s for two missed heartbeats, then taking it over$`),
    );
    expect(Number(/waiting (\d+\.\d) s/.exec(notices[0])![1])).toBeLessThanOrEqual(11);
    expect(rerun.stdout).toContain('resuming after');
    expect(readText(dir, 'samples.jsonl')).toBe(readText(reference.dir, 'samples.jsonl'));
    expect(withoutTimings(readSummary(dir))).toEqual(withoutTimings(readSummary(reference.dir)));
    expect(scalarTriples(dir)).toEqual(scalarTriples(reference.dir));
    expectWholeRecords(dir);
    expect(existsSync(join(dir, LOCK_DIR))).toBe(false);
  }, 120_000);

  it('a second signal exits at once, leaving whole records that resume', async () => {
    const config = sameConfig();
    const dir = runFolderPath(config).dir;
    const run = spawnTpt(['run', '--config', writeConfigFile(config, join(config.out_dir, 'config.json'))]);
    await untilLines(dir, 1);
    run.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 20));
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('SIGINT again: exiting now');
    expect(lineCount(dir)).toBeLessThan(SAMPLES);
    expectWholeRecords(dir);
    await expectResumesToReference(config);
  });
});

describe('write failures', () => {
  it('a quota hit part way through a line (EDQUOT, injected): one error naming what is saved, no torn line, and the rerun resumes', async () => {
    const config = sameConfig();
    const dir = runFolderPath(config).dir;
    const samplesFd = new Set<number>();
    const openSync = fs.openSync;
    vi.spyOn(fs, 'openSync').mockImplementation(((path: fs.PathLike, ...rest: unknown[]) => {
      const fd = (openSync as (...args: unknown[]) => number)(path, ...rest);
      if (String(path).endsWith('samples.jsonl')) samplesFd.add(fd);
      return fd;
    }) as typeof fs.openSync);
    const writeSync = fs.writeSync;
    let lines = 0;
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buffer: Uint8Array, offset?: number, length?: number, ...rest: unknown[]) => {
      if (samplesFd.has(fd) && lines === 3) {
        if ((offset ?? 0) === 0) return (writeSync as (...args: unknown[]) => number)(fd, buffer, 0, Math.floor((length ?? buffer.length) / 2));
        throw Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT', errno: -122, syscall: 'write' });
      }
      const n = (writeSync as (...args: unknown[]) => number)(fd, buffer, offset, length, ...rest);
      if (samplesFd.has(fd)) lines += 1;
      return n;
    }) as typeof fs.writeSync);
    const failure = (await runTpt(config).catch((e: unknown) => e)) as TptError;
    vi.restoreAllMocks();
    expect(failure.code).toBe('RUN_FOLDER_WRITE');
    expect(failure.message).toBe(`cannot write the run folder ${dir}: the disk quota is exceeded (EDQUOT); 3 samples are saved there and every file holds whole records`);
    expect(failure.hint).toMatch(/quota.*run the same command again to resume/);
    expect(lineCount(dir)).toBe(3);
    expect(readSummary(dir)).toMatchObject({ finished: false, samples_done: 3 }); // the saved ones, not the one that failed
    expectWholeRecords(dir);
    expect(existsSync(join(dir, LOCK_DIR))).toBe(false);
    await expectResumesToReference(config);
  });

  it('a read-only file system under the event file (EROFS, injected) is the same kind of error', async () => {
    const config = sameConfig();
    const writeSync = fs.writeSync;
    let eventWrites = 0;
    const eventFds = new Set<number>();
    const openSync = fs.openSync;
    vi.spyOn(fs, 'openSync').mockImplementation(((path: fs.PathLike, ...rest: unknown[]) => {
      const fd = (openSync as (...args: unknown[]) => number)(path, ...rest);
      if (String(path).includes('tfevents')) eventFds.add(fd);
      return fd;
    }) as typeof fs.openSync);
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, ...rest: unknown[]) => {
      if (eventFds.has(fd) && ++eventWrites > 4) throw Object.assign(new Error('EROFS: read-only file system, write'), { code: 'EROFS' });
      return (writeSync as (...args: unknown[]) => number)(fd, ...rest);
    }) as typeof fs.writeSync);
    const failure = (await runTpt(config).catch((e: unknown) => e)) as TptError;
    vi.restoreAllMocks();
    expect(failure.code).toBe('RUN_FOLDER_WRITE');
    expect(failure.message).toMatch(/the file system is read-only \(EROFS\); \d+ samples? (is|are) saved/);
    expectWholeRecords(runFolderPath(config).dir);
    await expectResumesToReference(config);
  });

  describe('a disk that fills mid-run (tmpfs of 300 kB)', () => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'tpt-full-disk-'));
    let mounted = false;
    let whyNot = '';
    beforeAll(() => {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=300k', 'tmpfs', mountPoint], { stdio: 'pipe' });
        mounted = true;
      } catch (e) {
        whyNot = `mounting a tmpfs is not allowed here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()})`;
      }
    });
    afterAll(() => {
      if (mounted) execFileSync('umount', [mountPoint]);
    });

    it('stops with one line (disk full, N samples saved, what to do), no torn record anywhere, and the rerun resumes', async (context) => {
      if (!mounted) context.skip(whyNot);
      const config = { ...reference.config, out_dir: join(mountPoint, 'runs') };
      mkdirSync(config.out_dir);
      // Leave room for the start files and a few samples' lines (each ~9 kB with its logits).
      const free = fs.statfsSync(mountPoint).bavail * fs.statfsSync(mountPoint).bsize;
      const filler = join(mountPoint, 'filler');
      fs.writeFileSync(filler, Buffer.alloc(free - 64 * 1024));
      const configFile = join(tmpdir(), `tpt-full-disk-${process.pid}.json`);
      const result = await spawnTpt(['run', '--config', writeConfigFile(config, configFile)]).done;
      const dir = runFolderPath(config).dir;
      const lines = result.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('[tpt]'));
      expect(result.stderr).not.toMatch(/unexpected error|^\s+at /m);
      expect(lines).toHaveLength(2);
      const saved = lineCount(dir);
      expect(saved).toBeGreaterThan(0);
      expect(saved).toBeLessThan(SAMPLES);
      expect(lines[0]).toBe(
        `tpt: cannot write the run folder ${dir}: the disk is full (ENOSPC); ${saved} sample${saved === 1 ? ' is' : 's are'} saved there and every file holds whole records`,
      );
      expect(lines[1]).toMatch(/^ {2}→ Free space on that disk .* run the same command again to resume\.$/);
      expect(result.code).toBe(2);
      expectWholeRecords(dir);
      rmSync(filler);
      await expectResumesToReference(config);
    });
  });
});

describe('a new run folder on a read-only file system', () => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'tpt-read-only-'));
  let mounted = false;
  beforeAll(() => {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro', 'tmpfs', mountPoint], { stdio: 'pipe' });
      mounted = true;
    } catch {
      // not allowed here: the second test stands in for the mount
    }
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', [mountPoint]);
  });

  const expectOneLine = (stderr: string, dir: string) => {
    expect(stderr).not.toMatch(/unexpected error|^\s+at /m);
    const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('[tpt]'));
    expect(lines).toEqual([
      `tpt: cannot write the run folder ${dir}: the file system is read-only (EROFS)`,
      '  → Write to a writable file system (or remount this one read-write) (out_dir), then run the same command again.',
    ]);
  };

  it('(a read-only tmpfs) is one line naming it plus what to do, exit 2, not "this is a bug"', async (context) => {
    if (!mounted) context.skip('mounting a tmpfs is not allowed here');
    const config = { ...reference.config, out_dir: join(mountPoint, 'runs') };
    const result = await spawnTpt(['run', '--config', writeConfigFile(config, join(tmpdir(), `tpt-read-only-${process.pid}.json`))]).done;
    expectOneLine(result.stderr, runFolderPath(config).dir);
    expect(result.code).toBe(2);
  });

  it("(injected as Node reports it: ENOENT from the recursive mkdir, EROFS from each level) is the same error", async () => {
    const config = { ...reference.config, out_dir: join(mkdtempSync(join(tmpdir(), 'tpt-ro-')), 'read-only', 'runs') };
    const readOnly = join(config.out_dir, '..');
    const mkdirSync = fs.mkdirSync;
    vi.spyOn(fs, 'mkdirSync').mockImplementation(((path: fs.PathLike, options?: fs.MakeDirectoryOptions) => {
      if (String(path).startsWith(readOnly)) {
        const code = options?.recursive === true ? 'ENOENT' : 'EROFS';
        throw Object.assign(new Error(`${code}: mkdir '${String(path)}'`), { code, path: String(path) });
      }
      return mkdirSync(path, options);
    }) as typeof fs.mkdirSync);
    const failure = (await runTpt(config).catch((e: unknown) => e)) as TptError;
    vi.restoreAllMocks();
    expect(failure.code).toBe('RUN_FOLDER_WRITE');
    expect(`tpt: ${failure.message}\n  → ${failure.hint}`).toBe(
      [
        `tpt: cannot write the run folder ${runFolderPath(config).dir}: the file system is read-only (EROFS)`,
        '  → Write to a writable file system (or remount this one read-write) (out_dir), then run the same command again.',
      ].join('\n'),
    );
  });
});

describe('torn tails from a killed run', () => {
  it('are cut off every file on resume (JSONL lines, TensorBoard records), and the log says so', async () => {
    const config = sameConfig();
    const first = await runTpt(config, { stopAfter: 3 });
    const dir = first.dir;
    const eventFile = readdirSync(dir).find((f) => f.includes('tfevents'))!;
    const record = frameRecord(Buffer.from('an event that was being written'));
    appendFileSync(join(dir, eventFile), record.subarray(0, record.length - 7));
    const tornLine = '{"index":7,"file":"n0';
    const tornLog = '{"level":30,"time":"2026';
    appendFileSync(join(dir, 'samples.jsonl'), tornLine);
    appendFileSync(join(dir, 'log.jsonl'), tornLog);
    await expectResumesToReference(config);
    const log = readText(dir, 'log.jsonl').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; file?: string; bytes?: number });
    const repairs = log.filter((l) => l.msg.startsWith('cut a torn record'));
    expect(repairs.map((r) => [r.file, r.bytes])).toEqual([
      ['samples.jsonl', tornLine.length],
      ['log.jsonl', tornLog.length],
      [eventFile, record.length - 7],
    ]);
  });
});
