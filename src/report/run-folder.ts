/**
 * Reads a run folder as `tpt run` leaves it (issue 4's format), using nothing but the folder itself, so runs
 * copied from another machine or cluster report the same:
 *
 *   config.json     {config: the resolved config, run_name, backend, version, created, resumed?}
 *   samples.jsonl   one JSON line per finished sample (a killed run may leave a half-written last line)
 *   summary.json    the final figures; missing, or `finished: false`, while a run is unfinished
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { TptError } from '../errors.js';
import type { SampleRecord } from '../run/records.js';

export type { SampleRecord };

export const CONFIG_FILE = 'config.json';
export const SAMPLES_FILE = 'samples.jsonl';
export const SUMMARY_FILE = 'summary.json';

export interface RunFolder {
  dir: string;
  /** The folder's base name (the run name). */
  name: string;
  /** The resolved config (config.json's `config`). */
  config: Record<string, unknown>;
  /** config.json as a whole (run_name, backend, version, created, …). */
  configFile: Record<string, unknown>;
  /** summary.json as written, if present and readable. */
  summary: Record<string, unknown> | undefined;
  samples: SampleRecord[];
  /** Lines of samples.jsonl that could not be parsed (a killed run's torn last line). */
  tornLines: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** True when `dir` holds a config.json (is a run folder rather than a folder of runs). */
export async function isRunFolder(dir: string): Promise<boolean> {
  return exists(join(dir, CONFIG_FILE));
}

async function readJsonObject(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new TptError('RUN_FOLDER_UNREADABLE', `cannot read ${what} "${path}"`, {
      hint: 'Pass folders written by `tpt run` (each holds config.json, samples.jsonl and, when finished, summary.json).',
      cause: e,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TptError('RUN_FOLDER_UNREADABLE', `${what} "${path}" is not valid JSON`, {
      hint: 'The file was cut or edited; copy it again from the machine that ran it.',
      cause: e,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TptError('RUN_FOLDER_UNREADABLE', `${what} "${path}" does not hold a JSON object`, {
      hint: 'Pass folders written by `tpt run`.',
    });
  }
  return value as Record<string, unknown>;
}

function isSampleRecord(value: unknown): value is SampleRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const scores = (s: unknown) =>
    typeof s === 'object' && s !== null && typeof (s as SampleRecord['base']).pred === 'number' && Array.isArray((s as SampleRecord['base']).top5);
  return typeof v.index === 'number' && typeof v.target === 'number' && scores(v.base) && scores(v.tpt);
}

/** Parses samples.jsonl text; lines that are not whole sample records are counted, not thrown. */
export function parseSamplesJsonl(text: string): { samples: SampleRecord[]; tornLines: number } {
  const samples: SampleRecord[] = [];
  let tornLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isSampleRecord(value)) samples.push(value);
      else tornLines++;
    } catch {
      tornLines++;
    }
  }
  return { samples, tornLines };
}

export async function readRunFolder(dir: string): Promise<RunFolder> {
  if (!(await isRunFolder(dir))) {
    throw new TptError('NOT_A_RUN_FOLDER', `"${dir}" has no ${CONFIG_FILE}, so it is not a run folder`, {
      hint: 'Pass folders written by `tpt run`, e.g. `tpt report runs/*` or `tpt report runs` (its sub-folders).',
    });
  }
  const configFile = await readJsonObject(join(dir, CONFIG_FILE), 'config');
  const inner = configFile.config;
  // config.json nests the resolved config under `config`; a bare config object is read as it is
  const config = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? (inner as Record<string, unknown>) : configFile;
  const summaryPath = join(dir, SUMMARY_FILE);
  const summary = (await exists(summaryPath)) ? await readJsonObject(summaryPath, 'summary') : undefined;
  let samples: SampleRecord[] = [];
  let tornLines = 0;
  const samplesPath = join(dir, SAMPLES_FILE);
  if (await exists(samplesPath)) {
    ({ samples, tornLines } = parseSamplesJsonl(await readFile(samplesPath, 'utf8')));
  }
  return { dir, name: basename(resolve(dir)), config, configFile, summary, samples, tornLines };
}
