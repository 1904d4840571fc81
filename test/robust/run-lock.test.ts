import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { TptError } from '../../src/errors.js';
import { LOCK_DIR, lockRunFolder, readLockHolder } from '../../src/run/run-lock.js';
import { ensureDistBuilt } from '../workers/ensure-dist.js';

/**
 * The run-folder lock: a second holder is refused with the first one named; a lock whose heartbeat stopped
 * (another host's crashed run) or whose process was killed with SIGKILL on this host is taken over.
 */

const freshDir = () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'tpt-lock-')), 'run');
  mkdirSync(dir);
  return dir;
};

function refusal(fn: () => unknown): TptError {
  try {
    fn();
  } catch (e) {
    return e as TptError;
  }
  throw new Error('expected the lock to be refused');
}

describe('run-folder lock', () => {
  it('refuses a second holder, naming pid, host and start time, and frees the folder on release', () => {
    const dir = freshDir();
    const first = lockRunFolder(dir, { now: () => new Date('2026-01-02T03:04:05.000Z') });
    expect(readLockHolder(dir)).toEqual({ pid: process.pid, host: os.hostname(), started: '2026-01-02T03:04:05.000Z' });
    const e = refusal(() => lockRunFolder(dir));
    expect(e.code).toBe('RUN_LOCKED');
    expect(e.message).toBe(`${dir} is in use by pid ${process.pid} on ${os.hostname()}, started 2026-01-02T03:04:05.000Z`);
    expect(e.hint).toMatch(/run_name or out_dir/);
    // the holder lives on this host: a killed one is taken over after two beats of the default 5 s, not 300 s
    expect(e.hint).toContain('the next run on this host waits for its last heartbeat (at most 10 s) and takes the folder over; from another host that takes 300 s');
    first.release();
    expect(existsSync(join(dir, LOCK_DIR))).toBe(false);
    lockRunFolder(dir).release();
  });

  it("takes over another host's lock once its heartbeat is older than the stale time, not before", () => {
    const dir = freshDir();
    const lockDir = join(dir, LOCK_DIR);
    mkdirSync(lockDir);
    writeFileSync(join(lockDir, 'holder.json'), JSON.stringify({ pid: 4242, host: 'node-17.cluster', started: '2026-01-01T00:00:00.000Z' }));
    const now = new Date();
    utimesSync(lockDir, now, now);
    const e = refusal(() => lockRunFolder(dir, { staleMs: 2000 }));
    expect(e.message).toContain('pid 4242 on node-17.cluster, started 2026-01-01T00:00:00.000Z');
    // another host: the stale time applies, and how much of it is left
    expect(e.hint).toMatch(/frees the folder once its heartbeat is 2 s old \(its last heartbeat was 0 s ago, so in about 2 s\)/);
    const old = new Date(Date.now() - 3000);
    utimesSync(lockDir, old, old); // no heartbeat for 3 s > 2 s
    const lock = lockRunFolder(dir, { staleMs: 2000 });
    expect(readLockHolder(dir)?.pid).toBe(process.pid);
    lock.release();
  });

  it('keeps its lock alive with a heartbeat while it is held', async () => {
    const dir = freshDir();
    const lock = lockRunFolder(dir, { staleMs: 2000 });
    await new Promise((resolve) => setTimeout(resolve, 3000)); // longer than the stale time: the heartbeat keeps it fresh
    expect(lock.lost.aborted).toBe(false);
    expect(refusal(() => lockRunFolder(dir, { staleMs: 2000 })).code).toBe('RUN_LOCKED');
    lock.release();
  });

  it('reports a lock taken away from its holder (its directory removed) through `lost`', async () => {
    const dir = freshDir();
    const lock = lockRunFolder(dir, { staleMs: 2000 });
    rmSync(join(dir, LOCK_DIR), { recursive: true });
    const deadline = Date.now() + 5000;
    while (!lock.lost.aborted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lock.lost.aborted).toBe(true);
    expect(lock.lostReason?.message).toMatch(/ENOENT|no such file/);
    lock.release(); // nothing of its own left to remove; does not throw
  });

  it('frees the folder of a holder killed with SIGKILL (no release, no exit handler)', async () => {
    ensureDistBuilt();
    const dir = freshDir();
    const script = `
      const { lockRunFolder } = await import(${JSON.stringify(new URL('../../dist/run/run-lock.js', import.meta.url).href)});
      lockRunFolder(${JSON.stringify(dir)}, { staleMs: 30000, updateMs: 1000 });
      console.log('locked');
      setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => (String(chunk).includes('locked') ? resolve() : undefined));
      child.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
    });
    expect(refusal(() => lockRunFolder(dir, { staleMs: 30000, updateMs: 1000 })).message).toContain(`pid ${child.pid} on ${os.hostname()}`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(join(dir, LOCK_DIR))).toBe(true); // left behind
    // Same host, pid gone: the next run waits out the last heartbeat (two beats, 2 s here; proper-lockfile may
    // date a beat up to 1 s ahead) and takes over, long before the 30 s a lock of another host would need.
    const started = Date.now();
    const lock = lockRunFolder(dir, { staleMs: 30000, updateMs: 1000 });
    expect(Date.now() - started).toBeLessThan(3600);
    expect(readLockHolder(dir)?.pid).toBe(process.pid);
    lock.release();
  }, 60_000);
});
