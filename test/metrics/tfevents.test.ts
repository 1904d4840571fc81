import { describe, expect, it } from 'vitest';
import { crc32cOf, frameRecord, maskedCrc32c, parseRecords } from '../../src/metrics/tfevents.js';
import { crc32c, masked, splitRecords } from './independent-decoder.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('TFRecord framing', () => {
  it('uses CRC-32C with the standard check value', () => {
    expect(crc32cOf(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    const data = ascii('brain.Event:2');
    expect(maskedCrc32c(data)).toBe(masked(crc32c(data)));
  });

  it('frames records that an independent reader accepts', () => {
    const payloads = [ascii('a'), new Uint8Array(0), ascii('x'.repeat(1000))];
    const file = Buffer.concat(payloads.map(frameRecord));
    expect(file.length).toBe(payloads.reduce((n, p) => n + p.length + 16, 0));
    expect(splitRecords(file).map((r) => Buffer.from(r).toString())).toEqual(payloads.map((p) => Buffer.from(p).toString()));
    expect(parseRecords(file).records.map((r) => Buffer.from(r).toString())).toEqual(
      payloads.map((p) => Buffer.from(p).toString()),
    );
  });

  it('keeps the whole records of a file cut anywhere inside its last record, and reports the cut', () => {
    const first = frameRecord(ascii('first record'));
    const second = frameRecord(ascii('second record, the one that gets cut'));
    const file = Buffer.concat([first, second]);
    for (let cut = first.length + 1; cut < file.length; cut++) {
      const parsed = parseRecords(file.subarray(0, cut));
      expect(parsed.records.map((r) => Buffer.from(r).toString())).toEqual(['first record']);
      expect(parsed.truncated?.offset).toBe(first.length);
      expect(parsed.truncated?.bytesPresent).toBe(cut - first.length);
      expect(parsed.truncated?.bytesNeeded).toBe(cut - first.length >= 12 ? second.length : null);
    }
    expect(parseRecords(file).truncated).toBeNull();
  });

  it('refuses a record whose data or length CRC does not match', () => {
    const record = frameRecord(ascii('payload'));
    const badData = Buffer.from(record);
    badData[14] = (badData[14] as number) ^ 1;
    expect(() => parseRecords(badData)).toThrow(/data CRC/);
    const badLength = Buffer.from(record);
    badLength[9] = (badLength[9] as number) ^ 1;
    expect(() => parseRecords(badLength)).toThrow(expect.objectContaining({ code: 'EVENTS_CORRUPT' }));
  });
});
