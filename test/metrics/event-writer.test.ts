import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventWriter } from '../../src/metrics/event-writer.js';
import { readEventDir, readEventFile } from '../../src/metrics/event-reader.js';
import { configToHparams } from '../../src/metrics/hparams.js';
import { chwFloatToRgb } from '../../src/metrics/summaries.js';
import { decodeFileIndependent, decodeHparamsIndependent, splitRecords } from './independent-decoder.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tpt-events-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const fixedClock = () => 1700000000.25;

describe('EventWriter', () => {
  it("names files as torch does and starts with the file-version record", () => {
    const writer = EventWriter.create(path.join(dir, 'run'), { filenameSuffix: '.tpt', clock: fixedClock });
    writer.close();
    const name = path.basename(writer.path);
    expect(name).toMatch(new RegExp(`^events\\.out\\.tfevents\\.1700000000\\.${os.hostname()}\\.${process.pid}\\.\\d+\\.tpt$`));
    const events = decodeFileIndependent(fs.readFileSync(writer.path));
    expect(events).toEqual([{ wallTime: 1700000000.25, step: 0, fileVersion: 'brain.Event:2', values: [] }]);
  });

  it('writes scalars as float32 simple_value, one event each, with steps', () => {
    const writer = EventWriter.create(dir, { clock: fixedClock });
    writer.addScalar('Loss/value', 0.1, 3);
    writer.addScalar('AccuracyTOP1/Base', 2 / 3, 0, 12.5);
    writer.addScalar('big', 1e10, 2 ** 40);
    writer.addScalar('zero', 0, 5);
    writer.close();
    const events = decodeFileIndependent(fs.readFileSync(writer.path)).slice(1);
    expect(events).toEqual([
      { wallTime: 1700000000.25, step: 3, values: [{ tag: 'Loss/value', simpleValue: Math.fround(0.1) }] },
      { wallTime: 12.5, step: 0, values: [{ tag: 'AccuracyTOP1/Base', simpleValue: Math.fround(2 / 3) }] },
      { wallTime: 1700000000.25, step: 2 ** 40, values: [{ tag: 'big', simpleValue: 1e10 }] },
      // 0.0 is on the wire: simple_value lives in a oneof, so it has presence.
      { wallTime: 1700000000.25, step: 5, values: [{ tag: 'zero', simpleValue: 0 }] },
    ]);
  });

  it("writes text as torch's add_text does", () => {
    const writer = EventWriter.create(dir, { clock: fixedClock });
    writer.addText('statistics/global', '{\n    "n_samples": 3\n}  café');
    writer.close();
    const [, event] = decodeFileIndependent(fs.readFileSync(writer.path));
    expect(event?.values).toEqual([
      {
        tag: 'statistics/global/text_summary',
        pluginName: 'text',
        content: new Uint8Array(0),
        tensor: { dtype: 7, dims: [1], strings: ['{\n    "n_samples": 3\n}  café'], floats: [] },
      },
    ]);
    const ours = readEventFile(writer.path).events[1]?.values[0];
    expect(ours).toMatchObject({ kind: 'text', tag: 'statistics/global', text: '{\n    "n_samples": 3\n}  café' });
  });

  it('writes images as PNG, converting float CHW like torch (×255, clip, truncate)', async () => {
    const writer = EventWriter.create(dir, { clock: fixedClock });
    const rgb = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, k) => k * 14) };
    writer.addImage('Improved_Images/img_4:2-hammerhead', rgb, 2);
    // CHW, 1x2 image: channel planes R, G, B.
    const chw = { channels: 3, height: 1, width: 2, data: Float32Array.from([0.5, 1.2, -0.1, 1.0, 0.999, 0.0]) };
    writer.addImage('chw', chw, 0);
    writer.close();
    const [, first, second] = decodeFileIndependent(fs.readFileSync(writer.path));
    const image = first?.values[0]?.image;
    expect(first?.step).toBe(2);
    expect(image).toMatchObject({ height: 2, width: 3, colorspace: 3 });
    const decoded = await sharp(image?.png as Uint8Array).raw().toBuffer({ resolveWithObject: true });
    expect(decoded.info).toMatchObject({ width: 3, height: 2, channels: 3 });
    expect([...decoded.data]).toEqual([...rgb.data]);
    const decoded2 = await sharp(second?.values[0]?.image?.png as Uint8Array).raw().toBuffer();
    // pixel 0: (0.5, -0.1, 0.999) → (127, 0, 254); pixel 1: (1.2, 1.0, 0.0) → (255, 255, 0)
    expect([...decoded2]).toEqual([127, 0, 254, 255, 255, 0]);
  });

  it("recovers every uint8 value from TF.to_tensor's float (v/255 in float32), as torch's add_image does", () => {
    const values = Float32Array.from({ length: 256 * 3 }, (_, k) => Math.fround((k % 256) / 255));
    const rgb = chwFloatToRgb({ channels: 3, height: 16, width: 16, data: values });
    // CHW plane c holds values c*256..c*256+255 → pixel p, channel c = p.
    expect([...rgb.data].filter((v, k) => v !== Math.floor(k / 3))).toEqual([]);
  });

  it('writes an HParams session that decodes with the plugin field numbers', () => {
    const writer = EventWriter.create(dir, { clock: fixedClock });
    const hparams = configToHparams({ learning_rate: 0.005, loss: 'defaultTPT', augmix: true, csc: false, reduced_size: null, n_aug: 0 });
    expect(hparams).toEqual({ learning_rate: 0.005, loss: 'defaultTPT', augmix: true, csc: false, reduced_size: 'None', n_aug: 0 });
    writer.addHparams({ hparams, metricTags: ['AccuracyTOP1/Final_Base', 'AccuracyTOP1/Final_TPT_coop'], startTimeSecs: 100.5 });
    writer.addHparamsEnd({ endTimeSecs: 200 });
    writer.close();
    const events = decodeFileIndependent(fs.readFileSync(writer.path)).slice(1);
    expect(events.map((e) => e.values[0]?.tag)).toEqual([
      '_hparams_/experiment',
      '_hparams_/session_start_info',
      '_hparams_/session_end_info',
    ]);
    for (const e of events) {
      expect(e.values[0]?.pluginName).toBe('hparams');
      expect(e.values[0]?.tensor).toEqual({ dtype: 1, dims: [0], strings: [], floats: [] });
    }
    const [exp, start, end] = events.map((e) => decodeHparamsIndependent(e.values[0]?.content as Uint8Array));
    expect(exp).toEqual({
      version: 0,
      experiment: {
        hparams: [
          { name: 'learning_rate', type: 3 },
          { name: 'loss', type: 1 },
          { name: 'augmix', type: 2 },
          { name: 'csc', type: 2 },
          { name: 'reduced_size', type: 1 },
          { name: 'n_aug', type: 3 },
        ],
        metrics: ['AccuracyTOP1/Final_Base', 'AccuracyTOP1/Final_TPT_coop'],
      },
    });
    expect(start).toEqual({ version: 0, start: { hparams, startTimeSecs: 100.5 } });
    expect(end).toEqual({ version: 0, end: { status: 1, endTimeSecs: 200 } });
    // The project's own reader agrees.
    const ours = readEventFile(writer.path).events.slice(1).map((e) => e.values[0]);
    expect(ours[1]).toMatchObject({ kind: 'hparams', data: { sessionStartInfo: { hparams, startTimeSecs: 100.5 } } });
    expect(ours[2]).toMatchObject({ kind: 'hparams', data: { sessionEndInfo: { status: 1, endTimeSecs: 200 } } });
  });

  it('puts only whole records on disk: queued records appear at flush, all at once', () => {
    const writer = EventWriter.create(dir, { clock: fixedClock, maxQueue: 4, flushSecs: 3600 });
    const sizes = [fs.statSync(writer.path).size];
    for (let k = 0; k < 9; k++) {
      writer.addScalar('x', k, k);
      sizes.push(fs.statSync(writer.path).size);
      // At every moment the file splits into whole, CRC-valid records.
      expect(() => splitRecords(fs.readFileSync(writer.path))).not.toThrow();
    }
    // The queue of 4 flushes after the 4th and 8th scalar; the 9th waits for close.
    expect(sizes.map((s, k) => (k === 0 ? 0 : s - (sizes[k - 1] as number))).map((d) => d > 0)).toEqual([
      false, false, false, false, true, false, false, false, true, false,
    ]);
    expect(readEventFile(writer.path).events).toHaveLength(9);
    writer.flush();
    expect(readEventFile(writer.path).events).toHaveLength(10);
    writer.close();
    expect(() => writer.addScalar('x', 1, 1)).toThrow(/closed/);
  });

  it('reads a killed run: whole records kept, the cut record reported', () => {
    const writer = EventWriter.create(dir, { clock: fixedClock });
    for (let k = 0; k < 5; k++) writer.addScalar('Loss/value', k / 10, k);
    writer.close();
    const full = fs.readFileSync(writer.path);
    fs.writeFileSync(writer.path, full.subarray(0, full.length - 7));
    const read = readEventFile(writer.path);
    expect(read.events.map((e) => e.step)).toEqual([0, 0, 1, 2, 3]);
    expect(read.truncated).toMatchObject({ bytesPresent: expect.any(Number), bytesNeeded: expect.any(Number) });
  });

  it('reads every tfevents file of a folder in name order and ignores other files', () => {
    const a = EventWriter.create(dir, { clock: () => 1000 });
    a.addScalar('s', 1, 0);
    a.close();
    const b = EventWriter.create(dir, { clock: () => 2000 });
    b.addScalar('s', 2, 1);
    b.close();
    fs.writeFileSync(path.join(dir, 'samples.jsonl'), '{}\n');
    const files = readEventDir(dir);
    // Events copy verbatim from one file into another.
    const copy = EventWriter.create(path.join(dir, 'copy'), { clock: () => 3000 });
    for (const event of files.flatMap((f) => f.events.slice(1))) copy.addEventBytes(event.bytes);
    copy.close();
    expect(readEventFile(copy.path).events.slice(1).map((e) => [e.step, e.values])).toEqual(
      files.map((f) => [f.events[1]?.step, f.events[1]?.values]),
    );
    expect(files.map((f) => path.basename(f.path))).toEqual([path.basename(a.path), path.basename(b.path)]);
    expect(files.map((f) => f.events[1]?.values[0])).toEqual([
      { kind: 'scalar', tag: 's', value: 1 },
      { kind: 'scalar', tag: 's', value: 2 },
    ]);
  });
});
