import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TptError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { readJsonLines } from './jsonl.js';
import type { SampleRecord } from './records.js';
import { RUN_FILES } from './run-folder.js';

/**
 * state.jsonl, the adaptation state of an online run: one line per finished sample, `{index, update}`, the
 * sample's change to the state (its method's JSON, features as base64 float32: exact). A sample's state line
 * is appended BEFORE its samples.jsonl line, each in one write, so after a kill at any point the file holds
 * the lines of every sample in samples.jsonl, in the same order, plus at most one more (a sample killed
 * between its two lines) and at most one torn line. Resuming keeps exactly the lines of the recorded samples
 * and replays them: the state is then the one the uninterrupted run had after those samples.
 */

export interface StateRecord {
  index: number;
  update: unknown;
}

/** The updates of the samples samples.jsonl holds, in stream order; lines beyond them are cut off the file. */
export function readOnlineState(dir: string, samples: readonly SampleRecord[]): unknown[] {
  const path = join(dir, RUN_FILES.state);
  const { records } = readJsonLines<StateRecord>(path, { repair: true });
  const corrupt = (detail: string) =>
    new TptError('RUN_FOLDER_CORRUPT', `${path} does not match ${RUN_FILES.samples} (${detail})`, {
      hint: 'The online state was edited or lost; start the run over with --fresh (an online run cannot resume without the state of its earlier samples).',
    });
  if (records.length < samples.length) throw corrupt(`${records.length} state records for ${samples.length} samples`);
  for (let i = 0; i < samples.length; i++) {
    if (records[i]!.index !== samples[i]!.index) throw corrupt(`line ${i + 1} is sample ${records[i]!.index}, samples.jsonl has ${samples[i]!.index}`);
  }
  if (records.length > samples.length + 1) throw corrupt(`${records.length - samples.length} state records past the last sample`);
  if (records.length > samples.length) {
    // A sample killed after its state line and before its record: it runs again and writes both again.
    writeFileAtomic(path, records.slice(0, samples.length).map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
  return records.slice(0, samples.length).map((r) => r.update);
}

/** SHA-256 of a sample order, one "index<TAB>file" line per position: what an online run's results depend on. */
export function streamOrderSha256(plan: readonly { index: number; file: string }[]): string {
  const hash = createHash('sha256');
  for (const s of plan) hash.update(`${s.index}\t${s.file}\n`);
  return hash.digest('hex');
}
