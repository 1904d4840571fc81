import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventWriter } from '../../src/metrics/event-writer.js';
import type { HparamValue } from '../../src/metrics/hparams.js';
import { parseRecords } from '../../src/metrics/tfevents.js';

/** Events serialized by Google's protobuf runtime (scripts/fixtures/make_tfevents_goldens.py). */
interface Case {
  name: string;
  hex: string;
  spec: {
    kind: 'file_version' | 'scalar' | 'text' | 'image' | 'hparams';
    wall_time: number;
    tag?: string;
    value?: number;
    step?: number | null;
    text?: string;
    height?: number;
    width?: number;
    png_hex?: string;
    hparams?: Record<string, HparamValue>;
    metrics?: string[];
    start_time?: number;
    end_time?: number;
  };
}
const { cases } = JSON.parse(
  fs.readFileSync(new URL('../fixtures/metrics/tfevents-goldens.json', import.meta.url), 'utf8'),
) as { cases: Case[] };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tpt-event-bytes-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('event encoding, byte for byte against Google protobuf built like torch.utils.tensorboard', () => {
  it('serializes file-version, scalar, text, image and hparams events identically', () => {
    const W = cases[0]?.spec.wall_time as number;
    const writer = EventWriter.create(dir, { clock: () => W });
    const names = ['file_version'];
    for (const c of cases) {
      const s = c.spec;
      const step = s.step ?? undefined;
      if (s.kind === 'scalar') writer.addScalar(s.tag as string, s.value as number, step, W);
      else if (s.kind === 'text') writer.addText(s.tag as string, s.text as string, step, W);
      else if (s.kind === 'image') {
        const encodedImageString = Buffer.from(s.png_hex as string, 'hex');
        writer.addSummary([{ tag: s.tag as string, image: { height: s.height as number, width: s.width as number, colorspace: 3, encodedImageString } }], step, W);
      } else if (s.kind === 'hparams' && c.name === 'hparams_experiment') {
        writer.addHparams({ hparams: s.hparams ?? {}, metricTags: s.metrics ?? [], startTimeSecs: s.start_time as number }, W);
        names.push('hparams_experiment', 'hparams_session_start');
        continue;
      } else if (s.kind === 'hparams' && c.name === 'hparams_session_end') {
        writer.addHparamsEnd({ endTimeSecs: s.end_time as number }, W);
      }
      if (c.name !== 'file_version' && c.name !== 'hparams_session_start') names.push(c.name);
    }
    writer.close();
    const { records, truncated } = parseRecords(fs.readFileSync(writer.path));
    expect(truncated).toBeNull();
    expect(names).toEqual(cases.map((c) => c.name));
    records.forEach((record, k) => {
      expect(Buffer.from(record).toString('hex'), names[k]).toBe(cases[k]?.hex);
    });
  });
});
