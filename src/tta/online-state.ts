import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TptError } from '../errors.js';
import { writeJsonAtomic } from '../run/atomic-write.js';
import { RUN_FILES } from '../run/run-folder.js';
import type { OnlineState } from './methods/types.js';

/**
 * An online method's state in the run folder, exact across a kill at any instant. Snapshot n (the state after
 * the n-th sample line) is written atomically BEFORE line n is appended, into one of two files by the parity
 * of n, so the other file still holds snapshot n−1. Whatever the moment of a kill, samples.jsonl holds some
 * number k of whole lines and one of the two files holds snapshot k: killed before snapshot n was renamed in
 * (k = n−1, the other file), after it but before line n (k = n−1, the other file still), or after line n (k = n).
 * A skipped (undecodable) file changes no state and writes no snapshot.
 */

const FILES = [RUN_FILES.onlineStateEven, RUN_FILES.onlineStateOdd] as const;

interface SnapshotFile {
  /** The number of lines of samples.jsonl this state reflects. */
  samples: number;
  method: string;
  state: unknown;
}

export class OnlineStateStore {
  constructor(
    private readonly dir: string,
    private readonly method: string,
    private readonly state: OnlineState,
  ) {}

  /** Writes the state after the `samples`-th sample line, before that line is appended. */
  save(samples: number): void {
    const file: SnapshotFile = { samples, method: this.method, state: this.state.snapshot() };
    writeJsonAtomic(join(this.dir, FILES[samples % 2]!), file);
  }

  /** Restores the state that `samples` finished lines reflect (nothing to do at 0: the state starts empty). */
  restore(samples: number): void {
    if (samples === 0) return;
    const path = join(this.dir, FILES[samples % 2]!);
    const file = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile) : undefined;
    if (file === undefined || file.samples !== samples || file.method !== this.method) {
      throw new TptError('RUN_FOLDER_CORRUPT', `${this.dir} holds ${samples} samples of online method ${this.method} but no saved state after sample ${samples} (${FILES.join(', ')})`, {
        hint: 'The run cannot continue with the state the uninterrupted run would have had; start it over with --fresh.',
      });
    }
    this.state.restore(file.state);
  }
}
