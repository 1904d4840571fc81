/**
 * Reads TensorBoard event files back: every record's CRCs are checked (a mismatch throws), an incomplete final
 * record is reported in `truncated` and skipped (a killed writer, or a file still being written), and each
 * event is decoded into scalars, texts, images and hparams. Used by the tests and by `tpt merge`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TptError } from '../errors.js';
import { DT_FLOAT, DT_STRING, decodeEvent, type SummaryValueObject } from './event-schema.js';
import { decodeHparamsPluginData, HPARAMS_PLUGIN_NAME, type DecodedHparamsData } from './hparams.js';
import { parseRecords, type TruncatedTail } from './tfevents.js';

export type DecodedValue =
  | { kind: 'scalar'; tag: string; value: number }
  /** `tag` is the name given to add_text; `rawTag` the stored `<tag>/text_summary`. */
  | { kind: 'text'; tag: string; rawTag: string; text: string }
  | { kind: 'image'; tag: string; width: number; height: number; colorspace: number; png: Uint8Array }
  | { kind: 'hparams'; tag: string; data: DecodedHparamsData }
  /** Anything else (another plugin's tensor summary), kept undecoded. */
  | { kind: 'other'; tag: string; pluginName: string | null; value: SummaryValueObject };

export interface DecodedEvent {
  wallTime: number;
  step: number;
  /** Set on the file-version record ("brain.Event:2"). */
  fileVersion?: string;
  values: DecodedValue[];
  /** The serialized Event, for copying it unchanged into another file (EventWriter.addEventBytes). */
  bytes: Uint8Array;
}

export interface EventFileContents {
  path: string;
  events: DecodedEvent[];
  truncated: TruncatedTail | null;
}

const TEXT_SUFFIX = '/text_summary';

function decodeValue(value: SummaryValueObject): DecodedValue {
  const pluginName = value.metadata?.pluginData?.pluginName ?? null;
  if (value.simpleValue !== undefined) return { kind: 'scalar', tag: value.tag, value: value.simpleValue };
  if (value.image !== undefined) {
    const { width, height, colorspace, encodedImageString } = value.image;
    return { kind: 'image', tag: value.tag, width, height, colorspace, png: encodedImageString };
  }
  const tensor = value.tensor;
  if (pluginName === 'text' && tensor?.dtype === DT_STRING) {
    const text = (tensor.stringVal ?? []).map((bytes) => Buffer.from(bytes).toString('utf8')).join('\n');
    const tag = value.tag.endsWith(TEXT_SUFFIX) ? value.tag.slice(0, -TEXT_SUFFIX.length) : value.tag;
    return { kind: 'text', tag, rawTag: value.tag, text };
  }
  if (pluginName === HPARAMS_PLUGIN_NAME) {
    const content = value.metadata?.pluginData?.content ?? new Uint8Array(0);
    return { kind: 'hparams', tag: value.tag, data: decodeHparamsPluginData(content) };
  }
  // Newer TensorBoard writers store scalars as a rank-0 float tensor with plugin "scalars".
  if (pluginName === 'scalars' && tensor?.dtype === DT_FLOAT && tensor.floatVal?.length === 1) {
    return { kind: 'scalar', tag: value.tag, value: tensor.floatVal[0] as number };
  }
  return { kind: 'other', tag: value.tag, pluginName, value };
}

/** Decodes one record payload (a serialized Event). */
export function decodeEventRecord(data: Uint8Array): DecodedEvent {
  const event = decodeEvent(data);
  const decoded: DecodedEvent = {
    wallTime: event.wallTime ?? 0,
    step: event.step ?? 0,
    values: (event.summary?.value ?? []).map(decodeValue),
    bytes: data,
  };
  if (event.fileVersion !== undefined) decoded.fileVersion = event.fileVersion;
  return decoded;
}

export function readEventFile(filePath: string): EventFileContents {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (cause) {
    throw new TptError('EVENTS_READ', `Cannot read the event file ${filePath}: ${(cause as Error).message}`, {
      hint: 'Check the path; event files are named events.out.tfevents.*.',
      cause,
    });
  }
  const { records, truncated } = parseRecords(bytes, filePath);
  return { path: filePath, events: records.map(decodeEventRecord), truncated };
}

/** Every file in `dir` (not its subfolders) whose name contains "tfevents", as TensorBoard reads a run, by name. */
export function readEventDir(dir: string): EventFileContents[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (cause) {
    throw new TptError('EVENTS_READ', `Cannot list the run folder ${dir}: ${(cause as Error).message}`, {
      hint: 'Pass a run folder (the one holding events.out.tfevents.* files).',
      cause,
    });
  }
  return names
    .filter((name) => name.includes('tfevents') && fs.statSync(path.join(dir, name)).isFile())
    .sort()
    .map((name) => readEventFile(path.join(dir, name)));
}

/** Scalars of decoded files in file order: `[tag, step, value, wallTime]` rows, convenient for comparisons. */
export function scalarRows(files: EventFileContents[]): { tag: string; step: number; value: number; wallTime: number }[] {
  const rows: { tag: string; step: number; value: number; wallTime: number }[] = [];
  for (const file of files) {
    for (const event of file.events) {
      for (const value of event.values) {
        if (value.kind === 'scalar') rows.push({ tag: value.tag, step: event.step, value: value.value, wallTime: event.wallTime });
      }
    }
  }
  return rows;
}
