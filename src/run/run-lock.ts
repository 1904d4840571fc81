import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { TptError } from '../errors.js';

/**
 * One writer per run folder, across processes and hosts. The lock is proper-lockfile's: a directory
 * `<run folder>/run.lock` made with mkdir (atomic on local and network file systems, NFS included) whose
 * mtime the holder refreshes every `updateMs` (a heartbeat). A lock whose mtime is older than `staleMs` was
 * left by a process that died without releasing it (kill -9, OOM kill, a failed node) and is taken over.
 * On the holder's own host a dead pid is recognised sooner: the lock is taken over once its heartbeat has
 * missed two beats (waiting for that, at most 2 × `updateMs`).
 *
 * `holder.json` inside the lock names the holder (pid, host, start time) for the refusal message. Writing it
 * changes the lock directory's mtime, which proper-lockfile compares with its own to detect a stolen lock,
 * so the mtime is set back right after; the custom `fs` removes the file before proper-lockfile's rmdir.
 * `tpt report` and `tpt merge` only read run folders and never take the lock.
 */

export const LOCK_DIR = 'run.lock';
const HOLDER_FILE = 'holder.json';

// Five minutes: long enough that no synchronous stretch of a run (a wasm image-tower chunk of a large ViT takes
// tens of seconds) delays a heartbeat past it, short enough for a requeued job after a node failure.
export const DEFAULT_LOCK_STALE_MS = 300_000;

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
}

export interface RunLock {
  readonly dir: string;
  /** Aborted when the lock was lost (its directory removed or its heartbeat overtaken by another process). */
  readonly lost: AbortSignal;
  /** Why it was lost, once `lost` is aborted. */
  readonly lostReason: Error | undefined;
  release(): void;
}

export interface RunLockOptions {
  /** Heartbeat age after which a lock counts as abandoned; TPT_LOCK_STALE_MS overrides (min 2000). */
  staleMs?: number;
  /** Heartbeat interval; default min(5 s, staleMs / 2), at least 1 s. */
  updateMs?: number;
  now?: () => Date;
  /** Told (one line) when the lock of a killed run on this host is about to be waited for and taken over. */
  onWait?: (message: string) => void;
}

export function lockStaleMs(options: RunLockOptions = {}): number {
  const fromEnv = Number(process.env.TPT_LOCK_STALE_MS);
  const ms = options.staleMs ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_LOCK_STALE_MS);
  return Math.max(2000, ms); // proper-lockfile's own minimum
}

function removeHolderFile(lockDir: string): void {
  fs.rmSync(join(lockDir, HOLDER_FILE), { force: true });
}

/** node:fs, with rmdir emptying the lock directory of holder.json first (the only file put there). */
const lockFs = {
  ...fs,
  rmdir: (path: string, callback: (error: NodeJS.ErrnoException | null) => void) => {
    try {
      removeHolderFile(path);
    } catch {
      // rmdir reports what matters
    }
    fs.rmdir(path, callback);
  },
  rmdirSync: (path: string) => {
    try {
      removeHolderFile(path);
    } catch {
      // rmdirSync reports what matters
    }
    fs.rmdirSync(path);
  },
};

export function readLockHolder(runDir: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(fs.readFileSync(join(runDir, LOCK_DIR, HOLDER_FILE), 'utf8')) as Partial<LockHolder>;
    if (typeof holder.pid === 'number' && typeof holder.host === 'string' && typeof holder.started === 'string') return holder as LockHolder;
  } catch {
    // not written yet (the holder is starting) or gone (it just released)
  }
  return undefined;
}

/** Milliseconds since the holder's last heartbeat (negative when proper-lockfile dated a beat ahead, up to 1 s). */
function heartbeatAgeMs(lockDir: string): number | undefined {
  try {
    return Date.now() - fs.statSync(lockDir).mtime.getTime();
  } catch {
    return undefined;
  }
}

function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * For a lock on this host whose process is gone: how long until its heartbeat has missed two beats, when it
 * is safe to break (0: now); undefined when the holder lives or is elsewhere. The wait guards against a
 * holder in another pid namespace that shares the host name (containers): a live one keeps beating.
 */
function deadHolderWaitMs(holder: LockHolder | undefined, lockDir: string, updateMs: number): number | undefined {
  if (holder === undefined || holder.host !== os.hostname() || holder.pid === process.pid || pidIsAlive(holder.pid)) return undefined;
  const age = heartbeatAgeMs(lockDir);
  return age === undefined ? undefined : Math.max(0, 2 * updateMs - age + 50);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function describeHolder(holder: LockHolder | undefined): string {
  if (holder === undefined) return 'another process (it is just starting or stopping)';
  return `pid ${holder.pid} on ${holder.host}, started ${holder.started}`;
}

/** What frees the folder for this holder, with the times that apply to it (this host's two beats or the stale time). */
function refusalHint(holder: LockHolder | undefined, lockDir: string, staleMs: number, updateMs: number): string {
  const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;
  const twice = 'To run the same config twice at once, give the second another run_name or out_dir.';
  if (holder !== undefined && holder.host === os.hostname()) {
    return (
      `Wait for that run to end (or stop it). If it is killed (kill -9, the OOM killer), the next run on this host waits for its last ` +
      `heartbeat (at most ${seconds(2 * updateMs)}) and takes the folder over; from another host that takes ${seconds(staleMs)}. ${twice}`
    );
  }
  const age = heartbeatAgeMs(lockDir);
  const remaining = age === undefined ? '' : ` (its last heartbeat was ${seconds(Math.max(0, age))} ago, so in about ${seconds(Math.max(0, staleMs - age))})`;
  return `Wait for that run to end (or stop it); a run that was killed frees the folder once its heartbeat is ${seconds(staleMs)} old${remaining}. ${twice}`;
}

/** Takes the lock of an existing run folder, or throws RUN_LOCKED naming the live holder. */
export function lockRunFolder(runDir: string, options: RunLockOptions = {}): RunLock {
  const staleMs = lockStaleMs(options);
  const updateMs = Math.max(1000, Math.min(options.updateMs ?? 5000, staleMs / 2));
  const lockDir = join(runDir, LOCK_DIR);
  const controller = new AbortController();
  let lostReason: Error | undefined;
  const lockOptions: lockfile.LockOptions = {
    stale: staleMs,
    update: updateMs,
    lockfilePath: lockDir,
    fs: lockFs,
    onCompromised: (error) => {
      lostReason = error;
      controller.abort(error);
    },
  };
  const acquire = (): (() => void) => lockfile.lockSync(runDir, lockOptions);
  let release: () => void;
  try {
    release = acquire();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    const dead = readLockHolder(runDir);
    const waitMs = deadHolderWaitMs(dead, lockDir, updateMs);
    // A killed run on this host (kill -9, an OOM kill): wait out its last heartbeat (at most two beats).
    if (dead !== undefined && waitMs !== undefined && waitMs > 0) {
      options.onWait?.(
        `${runDir} was locked by pid ${dead.pid} on this host, which is gone (killed?): waiting ${(waitMs / 1000).toFixed(1)} s for two missed heartbeats, then taking it over`,
      );
      sleepSync(waitMs);
    }
    const holder = readLockHolder(runDir);
    if (waitMs === undefined || deadHolderWaitMs(holder, lockDir, updateMs) !== 0) {
      throw new TptError('RUN_LOCKED', `${runDir} is in use by ${describeHolder(holder)}`, {
        hint: refusalHint(holder, lockDir, staleMs, updateMs),
      });
    }
    // The holder was checked dead just now (the condition above re-reads holder.json), so a newer holder
    // that replaced it in between is not removed; mkdir in `acquire` stays the one atomic step.
    fs.rmSync(lockDir, { recursive: true, force: true });
    release = acquire();
  }
  const holder: LockHolder = { pid: process.pid, host: os.hostname(), started: (options.now?.() ?? new Date()).toISOString() };
  const { atime, mtime } = fs.statSync(lockDir);
  fs.writeFileSync(join(lockDir, HOLDER_FILE), `${JSON.stringify(holder)}\n`);
  fs.utimesSync(lockDir, atime, mtime); // the mtime proper-lockfile recorded, so it still knows the lock as its own
  let released = false;
  return {
    dir: runDir,
    lost: controller.signal,
    get lostReason() {
      return lostReason;
    },
    release() {
      if (released) return;
      released = true;
      if (lostReason !== undefined) return; // nothing of ours left to remove
      try {
        release();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ERELEASED') throw e;
      }
    },
  };
}
