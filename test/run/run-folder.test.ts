import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { TptConfig } from '../../src/config/schema.js';
import { TptError } from '../../src/errors.js';
import { JsonLinesAppender, readJsonLines } from '../../src/run/jsonl.js';
import { OrderedRecordWriter } from '../../src/run/ordered-writer.js';
import type { SampleRecord, SkippedRecord } from '../../src/run/records.js';

type PositionOutcome = { kind: 'skipped'; record: SkippedRecord };
import { openRunFolder, RUN_FILES } from '../../src/run/run-folder.js';
import { summarizeRecords } from '../../src/run/summary.js';
import { generateRunName } from '../../src/run/run-name.js';

function tempConfig(sets: string[] = []): TptConfig {
  const outDir = mkdtempSync(join(tmpdir(), 'tpt-runfolder-'));
  // augmix=true: the seed's default, which these run names were written with (the default is now the dataset's rule).
  return loadConfig(undefined, [`out_dir=${JSON.stringify(outDir)}`, 'n_aug=15', 'augmix=true', ...sets]);
}

function sample(index: number, basePred: number, tptPred: number, target = 1): SampleRecord {
  const prediction = (pred: number) => ({ pred, top5: [pred, 0, 2, 3, 4].filter((v, i, a) => a.indexOf(v) === i).slice(0, 5), conf: 0.5, ce: 1 });
  const change = Number(tptPred === target) - Number(basePred === target);
  return { index, file: `n01/${index}.jpg`, target, base: prediction(basePred), tpt: prediction(tptPred), loss: 0.1, change };
}

describe('JSON lines', () => {
  it('drops and cuts off an incomplete last line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpt-jsonl-'));
    const path = join(dir, 'a.jsonl');
    const appender = new JsonLinesAppender(path);
    appender.append({ a: 1 });
    appender.append({ a: 2 });
    appender.close();
    appendFileSync(path, '{"a": 3, "b"');
    expect(readJsonLines(path)).toEqual({ records: [{ a: 1 }, { a: 2 }], droppedBytes: 12 });
    expect(readFileSync(path, 'utf8')).toContain('"b"');
    readJsonLines(path, { repair: true });
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
  });

  it('refuses a damaged line in the middle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpt-jsonl-'));
    const path = join(dir, 'a.jsonl');
    writeFileSync(path, '{"a":1}\n{oops\n{"a":2}\n');
    expect(() => readJsonLines(path)).toThrow(TptError);
  });
});

describe('OrderedRecordWriter', () => {
  it('emits outcomes by position whatever order they arrive in', () => {
    const emitted: number[] = [];
    const writer = new OrderedRecordWriter<PositionOutcome>(3, (_, position) => emitted.push(position));
    const outcome = (i: number): PositionOutcome => ({ kind: 'skipped', record: { index: i, file: 'x', error: 'e' } });
    writer.push(5, outcome(5));
    writer.push(4, outcome(4));
    expect(emitted).toEqual([]);
    expect(writer.waiting).toBe(2);
    writer.push(3, outcome(3));
    expect(emitted).toEqual([3, 4, 5]);
    writer.push(6, outcome(6));
    expect(emitted).toEqual([3, 4, 5, 6]);
    expect(() => writer.push(4, outcome(4))).toThrow(/twice/);
  });
});

describe('summary', () => {
  it('computes accuracies, changes and ECE from the records', () => {
    const records = [sample(0, 1, 1), sample(1, 0, 1), sample(2, 1, 0), sample(3, 2, 3)];
    const summary = summarizeRecords(records, {
      runName: 'r', finished: true, samplesTotal: 5, filesSkipped: 1, elapsedSeconds: 8, timedSamples: 4, backend: 'wasm', workers: 1,
    });
    expect(summary).toMatchObject({
      samples_done: 4, samples_total: 5, files_skipped: 1, top1_base: 0.5, top1_tpt: 0.5, improved: 1, worsened: 1,
      top5_base: 0.5, top5_tpt: 0.5, seconds_per_sample: 2, finished: true,
    });
    // All confidences 0.5 (one bin) with accuracy 0.5 → perfectly calibrated.
    expect(summary.ece_base).toBeCloseTo(0, 12);
    expect(summary.ece_tpt).toBeCloseTo(0, 12);
  });

});

describe('openRunFolder', () => {
  it('creates the folder with config.json, then resumes with the records and a repaired tail', () => {
    const config = tempConfig();
    const first = openRunFolder(config, { backend: 'wasm' });
    expect(first.resumed).toBe(false);
    expect(first.dir).toBe(join(config.out_dir, 'size=Full_augmenter=AugmenterTPT_loss=defaultTPT_naug=15_npatch=0_overlap=0.0_augmix=True_severity=2_lr=0.005_spall=0.1_sppat=0.9'));
    const written = JSON.parse(readFileSync(join(first.dir, RUN_FILES.config), 'utf8'));
    expect(written).toMatchObject({ config, backend: 'wasm', version: expect.any(String) });

    writeFileSync(join(first.dir, RUN_FILES.samples), `${JSON.stringify(sample(0, 1, 1))}\n{"index": 1, "fi`);
    const second = openRunFolder({ ...config, workers: 2, backend: 'cpu' }, { backend: 'cpu' });
    expect(second.resumed).toBe(true);
    expect(second.samples).toEqual([sample(0, 1, 1)]);
    expect(second.repairedBytes).toBeGreaterThan(0);
    expect(readFileSync(join(first.dir, RUN_FILES.samples), 'utf8')).toBe(`${JSON.stringify(sample(0, 1, 1))}\n`);
    expect(JSON.parse(readFileSync(join(first.dir, RUN_FILES.config), 'utf8')).resumed).toHaveLength(1);
  });

  it('gives a sweep point of a key the seed name leaves out (seed) its own folder, the earlier one untouched', () => {
    const config = tempConfig();
    const first = openRunFolder(config, { backend: 'wasm' });
    writeFileSync(join(first.dir, RUN_FILES.samples), `${JSON.stringify(sample(0, 1, 1))}\n`);
    const other = openRunFolder({ ...config, seed: 7 }, { backend: 'wasm' });
    expect(other.dir).not.toBe(first.dir);
    expect(other.name).toMatch(/^size=Full_.*_sppat=0\.9_cfg=[0-9a-f]{8}$/);
    expect(other.resumed).toBe(false);
    expect(readJsonLines<SampleRecord>(join(first.dir, RUN_FILES.samples)).records).toEqual([sample(0, 1, 1)]);
  });

  it('refuses to continue a run with a setting that differs within one folder (save_logits), --fresh offered last', () => {
    const config = tempConfig();
    const first = openRunFolder(config, { backend: 'wasm' });
    writeFileSync(join(first.dir, RUN_FILES.samples), `${JSON.stringify(sample(0, 1, 1))}\n`);
    writeFileSync(join(first.dir, 'events.out.tfevents.1.host.1.0'), 'x');
    writeFileSync(join(first.dir, 'notes.txt'), 'mine');
    let error: unknown;
    try {
      openRunFolder({ ...config, save_logits: true }, { backend: 'wasm' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TptError);
    expect((error as TptError).message).toMatch(/save_logits: false in the folder, true now/);
    const hint = (error as TptError).hint ?? '';
    // the fixes that keep the earlier results come first; the deleting one last, with its warning
    expect(hint.indexOf('run_name')).toBeGreaterThanOrEqual(0);
    expect(hint.indexOf('run_name')).toBeLessThan(hint.indexOf('--fresh'));
    expect(hint).toMatch(/--fresh \(it deletes them\)\.$/);

    const fresh = openRunFolder({ ...config, save_logits: true }, { backend: 'wasm', fresh: true });
    expect(fresh.resumed).toBe(false);
    expect(fresh.samples).toEqual([]);
    expect(existsSync(join(first.dir, 'events.out.tfevents.1.host.1.0'))).toBe(false);
    expect(existsSync(join(first.dir, 'notes.txt'))).toBe(true);
  });

  it('continues a run in the folder it had before the settings hash (the name without it)', () => {
    const config = { ...tempConfig(), tta_steps: 2 };
    const legacyDir = join(config.out_dir, generateRunName(config, { legacy: true }));
    expect(generateRunName(config)).not.toBe(generateRunName(config, { legacy: true }));
    const old = openRunFolder(config, { backend: 'wasm' }); // writes the hashed folder; move it to the old name
    renameSync(old.dir, legacyDir);
    writeFileSync(join(legacyDir, RUN_FILES.samples), `${JSON.stringify(sample(0, 1, 1))}\n`);
    const again = openRunFolder(config, { backend: 'wasm' });
    expect(again.dir).toBe(legacyDir);
    expect(again.resumed).toBe(true);
    expect(again.samples).toEqual([sample(0, 1, 1)]);
    // another value of the hashed key is not that run: its own, new folder
    expect(openRunFolder({ ...config, tta_steps: 3 }, { backend: 'wasm' }).dir).not.toBe(legacyDir);
  });

  it('continues a folder whose config.json predates a key (split_file): the key had its default then', () => {
    const config = tempConfig();
    const first = openRunFolder(config, { backend: 'wasm' });
    writeFileSync(join(first.dir, RUN_FILES.samples), `${JSON.stringify(sample(0, 1, 1))}\n`);
    const stored = JSON.parse(readFileSync(join(first.dir, RUN_FILES.config), 'utf8'));
    delete stored.config.split_file;
    writeFileSync(join(first.dir, RUN_FILES.config), JSON.stringify(stored));
    const again = openRunFolder(config, { backend: 'wasm' });
    expect(again.resumed).toBe(true);
    expect(again.samples).toEqual([sample(0, 1, 1)]);
    // a key that is there and differs still refuses
    stored.config.split_file = '/elsewhere.json';
    writeFileSync(join(first.dir, RUN_FILES.config), JSON.stringify(stored));
    expect(() => openRunFolder(config, { backend: 'wasm' })).toThrow(/split_file: "\/elsewhere.json" in the folder, null now/);
  });

  it('resumes a folder whose config.json predates a key (method) while the config keeps its default, not otherwise', () => {
    const config = tempConfig();
    const first = openRunFolder(config, { backend: 'wasm' });
    writeFileSync(join(first.dir, RUN_FILES.samples), `${JSON.stringify(sample(0, 1, 1))}\n`);
    const file = JSON.parse(readFileSync(join(first.dir, RUN_FILES.config), 'utf8'));
    delete file.config.method;
    delete file.config.zero_gamma;
    writeFileSync(join(first.dir, RUN_FILES.config), JSON.stringify(file));
    expect(openRunFolder(config, { backend: 'wasm' }).samples).toHaveLength(1);
    // another method's run of the same settings has its own folder: never mixed with this one
    const other = openRunFolder({ ...config, method: 'c-tpt' }, { backend: 'wasm' });
    expect(other.name).toMatch(/_method=c-tpt$/);
    expect(other.samples).toEqual([]);
    // and a config.json that says another method refuses, whatever the folder is called
    file.config.method = 'zero';
    writeFileSync(join(first.dir, RUN_FILES.config), JSON.stringify(file));
    expect(() => openRunFolder(config, { backend: 'wasm' })).toThrow(/method: "zero" in the folder, "tpt" now/);
  });

  it('always starts the scratch folder tmp over', () => {
    const config = tempConfig(['save=false']);
    const first = openRunFolder(config, { backend: 'wasm' });
    expect(first.name).toBe('tmp');
    writeFileSync(join(first.dir, RUN_FILES.samples), `${JSON.stringify(sample(0, 1, 1))}\n`);
    const second = openRunFolder({ ...config, seed: 3 }, { backend: 'wasm' });
    expect(second.samples).toEqual([]);
  });
});
