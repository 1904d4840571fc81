/**
 * The shards handed to `tpt merge`, read and checked: one config apart from `shard` (and the keys that never
 * change results: where a shard was written, on what, how fast), every shard "i/n" of the same n exactly once,
 * finished, and with disjoint sample indices that belong to its slice.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { TptError } from '../errors.js';
import { parseShard } from '../data/sample-order.js';
import type { Shard } from '../data/sample-order.js';
import { readJsonLines } from '../run/jsonl.js';
import type { SampleRecord, SkippedRecord } from '../run/records.js';
import { NON_RESULT_KEYS, RUN_FILES } from '../run/run-folder.js';
import type { RunConfigFile } from '../run/run-folder.js';
import type { RunSummary } from '../run/summary.js';

export interface ShardFolder {
  dir: string;
  configFile: RunConfigFile;
  config: Record<string, unknown>;
  shard: Shard;
  samples: SampleRecord[];
  skipped: SkippedRecord[];
  summary: RunSummary | undefined;
}

function readJson<T>(path: string, what: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new TptError('RUN_FOLDER_UNREADABLE', `cannot read ${what} ${path}: ${(e as Error).message}`, {
      hint: 'Pass the run folders the shards wrote (each holds config.json, samples.jsonl and summary.json).',
    });
  }
}

export function readShardFolder(dir: string): ShardFolder {
  const configPath = join(dir, RUN_FILES.config);
  if (!existsSync(configPath)) {
    throw new TptError('NOT_A_RUN_FOLDER', `"${dir}" has no ${RUN_FILES.config}, so it is not a run folder`, {
      hint: 'Pass the run folders the shards wrote, e.g. `tpt merge runs/*_shard=* --out runs/merged`.',
    });
  }
  const configFile = readJson<RunConfigFile>(configPath, 'config');
  const config = (configFile.config ?? {}) as unknown as Record<string, unknown>;
  if (typeof config.shard !== 'string') {
    throw new TptError('MERGE_NOT_SHARDED', `"${dir}" is not a shard: its config has shard ${JSON.stringify(config.shard ?? null)}`, {
      hint: 'Only folders of runs made with `--set shard=i/n` can be merged.',
    });
  }
  const summaryPath = join(dir, RUN_FILES.summary);
  return {
    dir,
    configFile,
    config,
    shard: parseShard(config.shard),
    samples: readJsonLines<SampleRecord>(join(dir, RUN_FILES.samples)).records,
    skipped: readJsonLines<SkippedRecord>(join(dir, RUN_FILES.skipped)).records,
    summary: existsSync(summaryPath) ? readJson<RunSummary>(summaryPath, 'summary') : undefined,
  };
}

/** Result-affecting config keys whose values differ between two shard configs (`shard` aside). */
export function differingKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const ignored = new Set<string>([...NON_RESULT_KEYS, 'shard']);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => !ignored.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function name(shard: ShardFolder): string {
  return `${basename(resolve(shard.dir))} (shard ${shard.shard.index}/${shard.shard.count})`;
}

/** Throws a TptError saying exactly what is wrong with the set; returns the shards sorted by index. */
export function checkShardSet(shards: readonly ShardFolder[]): ShardFolder[] {
  if (shards.length === 0) {
    throw new TptError('MERGE_NO_SHARDS', 'no shard folders given', { hint: 'Example: tpt merge runs/*_shard=*of4 --out runs/merged' });
  }
  const first = shards[0] as ShardFolder;
  for (const other of shards.slice(1)) {
    const keys = differingKeys(first.config, other.config);
    if (keys.length > 0) {
      const detail = keys.map((k) => `${k}: ${JSON.stringify(first.config[k])} vs ${JSON.stringify(other.config[k])}`).join('; ');
      throw new TptError('MERGE_CONFIG_MISMATCH', `${name(first)} and ${name(other)} are shards of different runs (${detail})`, {
        hint: 'Merge only the shards of one config; run the sweep point again with the same settings and --set shard=i/n.',
      });
    }
  }
  const count = first.shard.count;
  const counts = [...new Set(shards.map((s) => s.shard.count))];
  if (counts.length > 1) {
    throw new TptError('MERGE_SHARD_COUNT', `the shards split the run in different ways (${counts.map((n) => `n = ${n}`).join(', ')})`, {
      hint: 'Merge shards of one split only: all "i/n" with the same n.',
    });
  }
  const byIndex = new Map<number, ShardFolder>();
  for (const s of shards) {
    const twin = byIndex.get(s.shard.index);
    if (twin) {
      throw new TptError('MERGE_SHARD_OVERLAP', `${name(twin)} and ${name(s)} are the same shard: they would count its samples twice`, {
        hint: 'Pass each shard folder once.',
      });
    }
    byIndex.set(s.shard.index, s);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new TptError('MERGE_SHARDS_MISSING', `shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} of ${count} missing`, {
      hint: `Run ${missing.length > 1 ? 'them' : 'it'} (\`tpt run --config … --set shard=${missing[0]}/${count}\`) and pass all ${count} folders.`,
    });
  }
  const unfinished = shards.filter((s) => s.summary?.finished !== true);
  if (unfinished.length > 0) {
    throw new TptError('MERGE_SHARD_UNFINISHED', `unfinished shard${unfinished.length > 1 ? 's' : ''}: ${unfinished.map(name).join(', ')}`, {
      hint: 'Run the same command again for each (a run resumes where it stopped), then merge.',
    });
  }
  const owner = new Map<number, ShardFolder>();
  for (const s of shards) {
    for (const r of [...s.samples, ...s.skipped]) {
      const previous = owner.get(r.index);
      if (previous) {
        throw new TptError('MERGE_SHARD_OVERLAP', `${name(previous)} and ${name(s)} both hold sample ${r.index} (${r.file})`, {
          hint: 'These folders do not come from one sharded run; merge the shards of one run only.',
        });
      }
      owner.set(r.index, s);
      if (r.index % count !== s.shard.index) {
        throw new TptError('MERGE_SHARD_OVERLAP', `${name(s)} holds sample ${r.index}, which belongs to shard ${r.index % count}/${count}`, {
          hint: 'The folder was edited or comes from another split; re-run that shard.',
        });
      }
    }
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
}
