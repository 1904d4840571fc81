import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEventDir, scalarRows } from '../../src/metrics/event-reader.js';
import { TIMING_KEYS, type RunSummary } from '../../src/run/summary.js';

/** What the run tests read back from a run folder to compare two runs. */

export const readText = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');
export const readSummary = (dir: string) => JSON.parse(readText(dir, 'summary.json')) as RunSummary;

/** summary.json without the keys that depend on the machine and the clock. */
export function withoutTimings(summary: RunSummary): Partial<RunSummary> {
  const copy: Partial<RunSummary> = { ...summary };
  for (const key of TIMING_KEYS) delete copy[key];
  return copy;
}

/** Scalar events as sortable (tag, step, value) triples: wall times differ between runs. */
export function scalarTriples(dir: string): string[] {
  return scalarRows(readEventDir(dir))
    .map((r) => `${r.tag}|${r.step}|${r.value}`)
    .sort();
}
