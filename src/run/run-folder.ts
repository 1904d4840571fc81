import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { EngineRecord } from '../engine/towers.js';
import { join } from 'node:path';
import { schemaDefaults, type ConfigKey, type TptConfig } from '../config/schema.js';
import { TptError } from '../errors.js';
import { VERSION } from '../version.js';
import { writeJsonAtomic } from './atomic-write.js';
import { repairEventFile } from '../metrics/event-writer.js';
import { readJsonLines, repairTornLine } from './jsonl.js';
import type { SampleRecord, SkippedRecord } from './records.js';
import { generateRunName } from './run-name.js';
import type { RunSummary } from './summary.js';
import type { ContextRecord, RanRecord } from './run-record.js';
import { makeFolderSync } from '../io/make-folder.js';

/**
 * The run folder `<out_dir>/<run name>/` and its life cycle: created for a new run, continued for a run
 * that stopped before its end (the same config again), or started over with `fresh`.
 */

export const RUN_FILES = {
  config: 'config.json',
  samples: 'samples.jsonl',
  skipped: 'skipped.jsonl',
  summary: 'summary.json',
  log: 'log.jsonl',
  /** Online methods: each finished sample's change to the adaptation state, written before its samples.jsonl line. */
  state: 'state.jsonl',
} as const;

const EVENT_FILE_MARKER = 'tfevents';

/**
 * Keys that do not change a run's results, so a run may be continued with other values: where it is
 * written, how fast it goes and on what. Everything else must match the folder's config.json.
 */
export const NON_RESULT_KEYS: readonly ConfigKey[] = ['run_name', 'out_dir', 'save', 'num_workers', 'workers', 'backend', 'device', 'bpe_path'];

/** What config.json holds. */
export interface RunConfigFile {
  /** The resolved config (every key, defaults filled in). */
  config: TptConfig;
  run_name: string;
  backend: string;
  /** The engine that runs the towers (written since the ONNX Runtime engine; absent in older folders). */
  engine?: EngineRecord;
  /** What ran (run-record.ts): the method, the architecture read from the weights, the context's source; absent in older folders. */
  method?: string;
  arch?: string;
  context?: ContextRecord;
  version: string;
  created: string;
  /** When each later continuation of the run started. */
  resumed?: string[];
}

export interface RunFolder {
  dir: string;
  name: string;
  /** True when an earlier, unfinished (or finished) run of the same config is continued. */
  resumed: boolean;
  /** Records already in the folder, in sample-list order. */
  samples: SampleRecord[];
  skipped: SkippedRecord[];
  /** The summary as the previous process left it (undefined for a new run). */
  previousSummary: RunSummary | undefined;
  /** Bytes of an incomplete last line cut off samples.jsonl / skipped.jsonl (a run killed mid-write). */
  repairedBytes: number;
  /** Every torn tail cut off a file of the folder (JSONL lines, TensorBoard records), for the log. */
  repairs: TornTailRepair[];
}

export interface TornTailRepair {
  file: string;
  bytes: number;
}

/**
 * Cuts the torn tail a killed or disk-full writer may have left off the log and the event files (the
 * record files are repaired as they are read), so that every file of a resumed run holds whole records.
 */
function repairTornTails(dir: string): TornTailRepair[] {
  const repairs: TornTailRepair[] = [];
  const logBytes = repairTornLine(join(dir, RUN_FILES.log));
  if (logBytes > 0) repairs.push({ file: RUN_FILES.log, bytes: logBytes });
  for (const entry of readdirSync(dir).sort()) {
    if (!entry.includes(EVENT_FILE_MARKER)) continue;
    const bytes = repairEventFile(join(dir, entry));
    if (bytes > 0) repairs.push({ file: entry, bytes });
  }
  return repairs;
}

/**
 * The folder of `config`'s run. A folder written before the name's settings hash (see run-name.ts) has the
 * name without it: when the hashed name holds no run yet and that older folder holds a run of exactly this
 * config, the run continues there, so no earlier run is orphaned by the new names.
 */
export function runFolderPath(config: TptConfig): { dir: string; name: string } {
  const name = generateRunName(config);
  const dir = join(config.out_dir, name);
  const legacyName = generateRunName(config, { legacy: true });
  if (legacyName === name || existsSync(join(dir, RUN_FILES.config))) return { dir, name };
  const legacyDir = join(config.out_dir, legacyName);
  const legacyConfig = join(legacyDir, RUN_FILES.config);
  if (!existsSync(legacyConfig)) return { dir, name };
  try {
    const previous = JSON.parse(readFileSync(legacyConfig, 'utf8')) as RunConfigFile;
    if (differingResultKeys(previous.config as unknown as Record<string, unknown>, config).length === 0) return { dir: legacyDir, name: legacyName };
  } catch {
    // an unreadable older folder is not this run's: the new name is used
  }
  return { dir, name };
}

/** The refusal's way out: first the ones that keep the earlier results, last the one that deletes them. */
const KEEP_BOTH_HINT =
  'Set another run_name (--set run_name=…) or out_dir to keep both runs; or, only if the earlier results may go, add --fresh (it deletes them).';

/**
 * The result-affecting keys whose values differ between two configs. A key the folder's config.json lacks
 * (written before the key existed, e.g. `split_file` or `method`) had its default then: a folder of an older
 * version resumes under a config that keeps that default.
 */
export function differingResultKeys(previous: Record<string, unknown>, current: TptConfig): ConfigKey[] {
  const keys = Object.keys(current) as ConfigKey[];
  const defaults = schemaDefaults() as Record<ConfigKey, unknown>;
  const before = (key: ConfigKey): unknown => (key in previous ? previous[key] : defaults[key]);
  return keys.filter((key) => !NON_RESULT_KEYS.includes(key) && JSON.stringify(before(key)) !== JSON.stringify(current[key]));
}

/** Removes the TensorBoard event files of a folder. */
export function removeEventFiles(dir: string): void {
  for (const entry of readdirSync(dir)) if (entry.includes(EVENT_FILE_MARKER)) rmSync(join(dir, entry), { force: true });
}

/** Removes the files a run writes (not the folder itself, which may hold the user's own files). */
function removeRunFiles(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const ours = (Object.values(RUN_FILES) as string[]).includes(entry) || entry.includes(EVENT_FILE_MARKER) || /\.tmp-\d+$/.test(entry);
    if (ours) rmSync(join(dir, entry), { force: true });
  }
}

function readConfigFile(path: string): RunConfigFile {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunConfigFile;
  } catch (e) {
    throw new TptError('RUN_FOLDER_CORRUPT', `cannot read ${path}: ${(e as Error).message}`, {
      hint: 'Restore the file from a copy; or set another run_name / out_dir to run elsewhere; --fresh starts this run over and deletes its results.',
    });
  }
}

function readSummary(path: string): RunSummary | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunSummary;
  } catch {
    return undefined; // rewritten from the records at the next update
  }
}

function describeDifference(keys: readonly ConfigKey[], previous: Record<string, unknown>, current: TptConfig): string {
  return keys.map((key) => `${key}: ${JSON.stringify(previous[key])} in the folder, ${JSON.stringify(current[key])} now`).join('; ');
}

/**
 * Opens the run folder of `config`: a new folder, the continuation of an earlier run of the same config
 * (its records are read back and an incomplete last line is cut off), or, with `fresh` or `save: false`
 * (the scratch folder "tmp"), a folder emptied of an earlier run's files. config.json is (re)written.
 */
export function openRunFolder(config: TptConfig, options: { fresh?: boolean; backend: string; engine?: EngineRecord; ran?: RanRecord; now?: Date }): RunFolder {
  const { dir, name } = runFolderPath(config);
  const now = (options.now ?? new Date()).toISOString();
  const configPath = join(dir, RUN_FILES.config);
  const startOver = options.fresh === true || !config.save;
  makeFolderSync(dir);

  let previous: RunConfigFile | undefined;
  if (existsSync(configPath)) {
    if (startOver) {
      removeRunFiles(dir);
    } else {
      previous = readConfigFile(configPath);
      const differing = differingResultKeys(previous.config as unknown as Record<string, unknown>, config);
      if (differing.length > 0) {
        throw new TptError(
          'RUN_FOLDER_MISMATCH',
          `${dir} holds a run with different settings (${describeDifference(differing, previous.config as unknown as Record<string, unknown>, config)})`,
          { hint: KEEP_BOTH_HINT },
        );
      }
    }
  } else if (readdirSync(dir).some((entry) => entry === RUN_FILES.samples || entry.includes(EVENT_FILE_MARKER))) {
    // Records without a config.json cannot be checked against the config: never mix them with new results.
    if (!startOver) {
      throw new TptError('RUN_FOLDER_CORRUPT', `${dir} holds run records but no ${RUN_FILES.config}`, {
        hint: KEEP_BOTH_HINT,
      });
    }
    removeRunFiles(dir);
  }

  const samples = readJsonLines<SampleRecord>(join(dir, RUN_FILES.samples), { repair: true });
  const skipped = readJsonLines<SkippedRecord>(join(dir, RUN_FILES.skipped), { repair: true });
  const repairs = [
    ...(samples.droppedBytes > 0 ? [{ file: RUN_FILES.samples, bytes: samples.droppedBytes }] : []),
    ...(skipped.droppedBytes > 0 ? [{ file: RUN_FILES.skipped, bytes: skipped.droppedBytes }] : []),
    ...repairTornTails(dir),
  ];
  const configFile: RunConfigFile = {
    config,
    run_name: name,
    backend: options.backend,
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.ran ? { method: options.ran.method, arch: options.ran.arch, context: options.ran.context } : {}),
    version: VERSION,
    created: previous?.created ?? now,
    ...(previous ? { resumed: [...(previous.resumed ?? []), now] } : {}),
  };
  writeJsonAtomic(configPath, configFile);
  return {
    dir,
    name,
    resumed: previous !== undefined,
    samples: samples.records,
    skipped: skipped.records,
    previousSummary: previous ? readSummary(join(dir, RUN_FILES.summary)) : undefined,
    repairedBytes: samples.droppedBytes + skipped.droppedBytes,
    repairs,
  };
}
