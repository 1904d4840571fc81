/**
 * `tpt merge`: joins the shard folders of one run (`shard: "i/n"`, i = 0…n−1) into the folder the unsharded
 * run would have written:
 * - config.json: the shards' config with `shard: null` and the unsharded run's name (plus `merged_from`);
 * - samples.jsonl and skipped.jsonl: every shard's records in index order (the index is the position in the
 *   unsharded order, so this IS the unsharded run's order);
 * - summary.json: recomputed from the merged records by the engine's `summarizeRecords`; time is the shards'
 *   total, so seconds per sample stays a per-sample cost;
 * - a fresh TensorBoard event file: Config text, HParams session, every step's scalars in index order, the
 *   final statistics — regenerated from the records by the tracker's `updateFromRecord`, which writes what
 *   `update` writes for the same sample — and the shards' improved/worsened images copied over verbatim
 *   (images are not in the records, so they cannot be regenerated).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TptError } from '../errors.js';
import { EventWriter } from '../metrics/event-writer.js';
import { readEventDir } from '../metrics/event-reader.js';
import { MetricsTracker } from '../metrics/tracker.js';
import { classnamesOfConfig } from '../data/datasets/registry.js';
import { writeFileAtomic, writeJsonAtomic } from '../run/atomic-write.js';
import type { SampleRecord, SkippedRecord } from '../run/records.js';
import { RUN_FILES } from '../run/run-folder.js';
import type { RunConfigFile } from '../run/run-folder.js';
import { generateRunName } from '../run/run-name.js';
import type { RanRecord } from '../run/run-record.js';
import type { EngineRecord } from '../engine/towers.js';
import { summarizeRecords } from '../run/summary.js';
import { streamOrderSha256 } from '../run/online-state.js';
import type { RunSummary } from '../run/summary.js';
import type { TptConfig } from '../config/schema.js';
import { floatConfigKeys } from '../config/describe.js';
import { PyFloat, pythonJsonDumps } from '../metrics/python-json.js';
import type { PyJson } from '../metrics/python-json.js';
import { VERSION } from '../version.js';
import { checkShardSet, readShardFolder } from './shard-set.js';
import type { ShardFolder } from './shard-set.js';

export interface MergeResult {
  dir: string;
  shards: number;
  samples: number;
  skipped: number;
  summary: RunSummary;
  eventFile: string;
  imagesCopied: number;
}

function jsonLines(records: readonly unknown[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

function refuseUsedFolder(out: string): void {
  if (!existsSync(out)) return;
  const used = readdirSync(out).filter((e) => (Object.values(RUN_FILES) as string[]).includes(e) || e.includes('tfevents'));
  if (used.length > 0) {
    throw new TptError('MERGE_OUT_EXISTS', `"${out}" already holds a run (${used.slice(0, 3).join(', ')}${used.length > 3 ? ', …' : ''})`, {
      hint: 'Choose another --out folder, or delete that one first.',
    });
  }
}

/**
 * The `Config` text as `tpt run` writes it (coordinator's `configJsonText`: the seed's
 * `json.dumps(vars(args), indent=4)`, floats as Python floats). Restated here so that merging needs no
 * tfjs engine; the end-to-end merge test compares the two runs' texts.
 */
function configText(config: TptConfig): string {
  const floats = new Set<string>(floatConfigKeys());
  const entries = Object.entries(config).map(([k, v]) => [k, floats.has(k) && typeof v === 'number' ? new PyFloat(v) : (v as PyJson)]);
  return pythonJsonDumps(Object.fromEntries(entries) as PyJson, 4);
}

const IMAGE_TAG = /^(Improved|Worsened)_Images\/img_(\d+):/;

/** The shards' improved/worsened image events (serialized, to copy verbatim), by sample index. */
function collectImageEvents(shards: readonly ShardFolder[]): Map<number, Uint8Array[]> {
  const byIndex = new Map<number, Uint8Array[]>();
  for (const shard of shards) {
    for (const file of readEventDir(shard.dir)) {
      for (const event of file.events) {
        const value = event.values[0];
        const match = value?.kind === 'image' ? IMAGE_TAG.exec(value.tag) : null;
        if (!match) continue;
        const index = Number(match[2]);
        byIndex.set(index, [...(byIndex.get(index) ?? []), event.bytes]);
      }
    }
  }
  return byIndex;
}

/**
 * Writes the merged run's event file as an unsharded run writes its own (see coordinator/run-session):
 * Config text, HParams session start, each sample's step in index order, write_info, session end.
 */
function writeMergedEvents(out: string, config: TptConfig, samples: readonly SampleRecord[], images: Map<number, Uint8Array[]>): { path: string; images: number } {
  const writer = EventWriter.create(out);
  try {
    writer.addText('Config', configText(config));
    // saveImgs false: images are copied from the shards below, not drawn again
    const classnames = classnamesOfConfig(config);
    const tracker = new MetricsTracker({ writer, nClasses: classnames.length, classnames, saveImgs: false });
    tracker.startHparamsSession(config as unknown as Record<string, unknown>);
    let copied = 0;
    for (const record of samples) {
      tracker.updateFromRecord({ step: record.index, target: record.target, base: record.base, tpt: record.tpt, loss: record.loss });
      for (const bytes of images.get(record.index) ?? []) {
        writer.addEventBytes(bytes);
        copied++;
      }
    }
    tracker.writeInfo();
    tracker.endHparamsSession({ status: 'success' });
    return { path: writer.path, images: copied };
  } finally {
    writer.close();
  }
}

/**
 * The engine of the merged run: the shards' one when they agree (summary.json's, else config.json's), else one
 * record that lists each (shards may run on different machines). Undefined when no shard recorded one.
 */
export function mergedEngine(shards: readonly ShardFolder[]): EngineRecord | undefined {
  const records = shards.map((s) => s.summary?.engine ?? s.configFile.engine).filter((e): e is EngineRecord => e !== undefined);
  const distinct = [...new Map(records.map((e) => [JSON.stringify(e), e])).values()];
  const first = distinct[0];
  if (first === undefined || distinct.length === 1) return first;
  return {
    name: first.name,
    provider: [...new Set(distinct.map((e) => e.provider))].join(', '),
    detail: `the shards ran on different engines: ${distinct.map((e) => `${e.name} ${e.provider} (${e.detail})`).join('; ')}`,
  };
}

/** What the shards recorded they ran (run-record.ts); the shard set check made their configs agree. */
function mergedRan(shards: readonly ShardFolder[]): RanRecord | undefined {
  for (const s of shards) {
    const from = s.summary ?? s.configFile;
    if (typeof from.method === 'string' && typeof from.arch === 'string' && from.context !== undefined) {
      return { method: from.method, arch: from.arch, context: from.context };
    }
  }
  return undefined;
}

/**
 * Merges the shard folders (paths, in any order) into `out`; without `out`, into the folder the unsharded run
 * would have written beside the shards (`<the shards' out_dir>/<its run name>`), so that the folder's name,
 * config.json's and summary.json's run_name, and the report's `run` column are one name.
 */
export function mergeShards(shardDirs: readonly string[], outOption?: string): MergeResult {
  const shards = checkShardSet(shardDirs.map(readShardFolder));
  const first = shards[0] as ShardFolder;
  const config = { ...(first.config as unknown as TptConfig), shard: null };
  const out = outOption ?? join(dirname(first.dir), generateRunName(config));
  refuseUsedFolder(out);
  const samples: SampleRecord[] = shards.flatMap((s) => s.samples).sort((a, b) => a.index - b.index);
  const skipped: SkippedRecord[] = shards.flatMap((s) => s.skipped).sort((a, b) => a.index - b.index);
  const runName = generateRunName(config);
  const engine = mergedEngine(shards);
  const ran = mergedRan(shards);
  const backends = [...new Set(shards.map((s) => s.summary?.backend ?? s.configFile.backend))].join(', ');
  const summary = summarizeRecords(samples, {
    runName,
    finished: true,
    samplesTotal: shards.reduce((n, s) => n + (s.summary?.samples_total ?? s.samples.length + s.skipped.length), 0),
    filesSkipped: skipped.length,
    elapsedSeconds: shards.reduce((t, s) => t + (s.summary?.elapsed_seconds ?? 0), 0),
    timedSamples: samples.length + skipped.length,
    backend: backends,
    ...(engine ? { engine } : {}),
    ...(ran ? { ran } : {}),
    workers: first.summary?.workers ?? 1,
    classnames: classnamesOfConfig(config),
    // Shards of an online method adapted independently (online_shards): the merged run says so, with the hash of
    // the whole stream's order (the same as an unsharded run's; its results are not).
    ...(first.summary?.online
      ? { online: { streamOrderSha256: streamOrderSha256([...samples, ...skipped].sort((a, b) => a.index - b.index)), shards: 'independent' as const } }
      : {}),
  });

  mkdirSync(out, { recursive: true });
  const created = shards.map((s) => s.configFile.created).filter((c): c is string => typeof c === 'string').sort()[0];
  const configFile: RunConfigFile & { merged_from: string[] } = {
    config,
    run_name: runName,
    backend: backends,
    ...(engine ? { engine } : {}),
    ...(ran ? { method: ran.method, arch: ran.arch, context: ran.context } : {}),
    version: VERSION,
    created: created ?? new Date().toISOString(),
    merged_from: shards.map((s) => resolve(s.dir)),
  };
  writeJsonAtomic(join(out, RUN_FILES.config), configFile);
  writeFileAtomic(join(out, RUN_FILES.samples), jsonLines(samples));
  writeFileAtomic(join(out, RUN_FILES.skipped), jsonLines(skipped));
  const events = writeMergedEvents(out, config, samples, collectImageEvents(shards));
  // summary last: a folder with summary.json `finished: true` is complete
  writeJsonAtomic(join(out, RUN_FILES.summary), summary);
  return { dir: out, shards: shards.length, samples: samples.length, skipped: skipped.length, summary, eventFile: events.path, imagesCopied: events.images };
}
