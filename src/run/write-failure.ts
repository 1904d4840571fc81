import { TptError } from '../errors.js';

/**
 * Write failures the environment causes (a full disk, a quota, a read-only or foreign-owned folder): they
 * are expected on shared and quota'd cluster file systems, so they end a run with one line saying what is
 * saved and what to do, never with a stack trace.
 */
const WRITE_FAILURES = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file stands where the folder should be',
} as const;

type WriteFailureCode = keyof typeof WRITE_FAILURES;

/** The errno code of a write failure, looking through a TptError's cause (e.g. EVENTS_OPEN). */
export function writeFailureCode(error: unknown): WriteFailureCode | undefined {
  for (const e of errnoChain(error)) {
    const code = e.code;
    if (typeof code === 'string' && Object.prototype.hasOwnProperty.call(WRITE_FAILURES, code)) return code as WriteFailureCode;
  }
  return undefined;
}

/** An error and the causes it wraps (a few levels: TptError → fs error), as errno-bearing objects. */
function errnoChain(error: unknown): NodeJS.ErrnoException[] {
  const chain: NodeJS.ErrnoException[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    chain.push(e as NodeJS.ErrnoException);
  }
  return chain;
}

/** What frees the way, per failure; followed by "then run … again". */
const REMEDY: Record<WriteFailureCode, string> = {
  ENOSPC: 'Free space on that disk (or write to a larger one)',
  EDQUOT: 'Free space within your quota (or write elsewhere)',
  EACCES: 'Make the folder writable for this user (or write elsewhere)',
  EPERM: 'Make the folder writable for this user (or write elsewhere)',
  EROFS: 'Write to a writable file system (or remount this one read-write)',
  ENOTDIR: 'Move that file away (or write elsewhere)',
  EEXIST: 'Move that file away (or write elsewhere)',
};

/**
 * RUN_FOLDER_WRITE for a failed write in `dir`, or undefined when `error` is no write failure.
 * `samplesSaved` counts the samples whose lines are whole in samples.jsonl (left out when not known yet).
 */
export function runFolderWriteError(error: unknown, dir: string, samplesSaved?: number): TptError | undefined {
  const code = writeFailureCode(error);
  if (code === undefined) return undefined;
  const saved =
    samplesSaved === undefined ? '' : `; ${samplesSaved} sample${samplesSaved === 1 ? ' is' : 's are'} saved there and every file holds whole records`;
  return new TptError('RUN_FOLDER_WRITE', `cannot write the run folder ${dir}: ${WRITE_FAILURES[code]} (${code})${saved}`, {
    hint: `${REMEDY[code]} (out_dir), then run the same command again${samplesSaved === undefined ? '' : ' to resume'}.`,
    cause: error,
  });
}

/**
 * A write failure outside a run folder (e.g. `tpt convert --out` on a full disk) as a user error naming the
 * path the system call reported, or undefined when `error` is no write failure.
 */
export function outputWriteError(error: unknown): TptError | undefined {
  const code = writeFailureCode(error);
  if (code === undefined) return undefined;
  // The path of the failed system call: on the error itself, or on the cause a wrapper kept.
  const path = errnoChain(error).find((e) => e.path !== undefined)?.path;
  return new TptError('OUTPUT_WRITE', `cannot write ${path ?? 'the output'}: ${WRITE_FAILURES[code]} (${code})`, {
    hint: `${REMEDY[code]}, then run the command again.`,
    cause: error,
  });
}
