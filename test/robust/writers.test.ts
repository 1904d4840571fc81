import fs, { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readEventFile } from '../../src/metrics/event-reader.js';
import { EventWriter, repairEventFile } from '../../src/metrics/event-writer.js';
import { JsonLinesAppender, readJsonLines, repairTornLine } from '../../src/run/jsonl.js';
import { outputWriteError, runFolderWriteError } from '../../src/run/write-failure.js';

/**
 * The writers under a failing file system (a fake layer over node:fs's write): a record whose write fails
 * part way is cut off again, so every file keeps whole records; and the repairs a resumed run applies.
 */

const tmp = () => mkdtempSync(join(tmpdir(), 'tpt-writers-'));
const errno = (code: string) => Object.assign(new Error(`${code}: simulated, write`), { code, syscall: 'write' });

/** From the `after`-th write call on: half of the bytes, then `code`. */
function failWritesAfter(after: number, code: string): void {
  const writeSync = fs.writeSync;
  let calls = 0;
  let tearing = false;
  vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buffer: Uint8Array, offset?: number, length?: number) => {
    calls += 1;
    if (calls <= after) return (writeSync as (...a: unknown[]) => number)(fd, buffer, offset, length);
    if (!tearing) {
      tearing = true;
      return (writeSync as (...a: unknown[]) => number)(fd, buffer, offset ?? 0, Math.max(1, Math.floor((length ?? buffer.length) / 2)));
    }
    throw errno(code);
  }) as typeof fs.writeSync);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('writers on a failing disk', () => {
  for (const code of ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES']) {
    it(`JSONL: a line torn by ${code} is cut off; earlier lines stay`, () => {
      const path = join(tmp(), 'samples.jsonl');
      const out = new JsonLinesAppender(path);
      out.append({ index: 0, text: 'a'.repeat(100) });
      out.append({ index: 1, text: 'b'.repeat(100) });
      failWritesAfter(0, code);
      expect(() => out.append({ index: 2, text: 'c'.repeat(100) })).toThrow(expect.objectContaining({ code }));
      vi.restoreAllMocks();
      out.close();
      const text = readFileSync(path, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(readJsonLines<{ index: number }>(path).records.map((r) => r.index)).toEqual([0, 1]);
    });
  }

  it('TensorBoard: a flush torn by ENOSPC is cut back to the last whole record, and close still closes', () => {
    const dir = tmp();
    const writer = EventWriter.create(dir, { maxQueue: 1000, flushSecs: 1000 });
    writer.addScalar('Loss/value', 1, 1);
    writer.flush();
    writer.addScalar('Loss/value', 2, 2);
    writer.addText('statistics/global', 'x'.repeat(500), 2);
    failWritesAfter(0, 'ENOSPC');
    expect(() => writer.flush()).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    vi.restoreAllMocks();
    writer.close();
    expect(writer.closed).toBe(true);
    const file = readEventFile(writer.path);
    expect(file.truncated).toBeNull();
    expect(file.events.map((e) => e.step)).toEqual([0, 1]); // the file-version event and step 1
  });

  it('TensorBoard: rollback drops a step whose sample line could not be written', () => {
    const writer = EventWriter.create(tmp());
    writer.addScalar('Loss/value', 1, 1);
    const mark = writer.mark();
    writer.addScalar('Loss/value', 2, 2);
    writer.flush();
    writer.rollback(mark);
    writer.addScalar('Loss/value', 3, 3);
    writer.close();
    expect(readEventFile(writer.path).events.map((e) => e.step)).toEqual([0, 1, 3]);
  });
});

describe('repairs on resume', () => {
  it('repairTornLine cuts an incomplete last line, also one longer than its read chunk, and leaves whole files alone', () => {
    const dir = tmp();
    const whole = join(dir, 'whole.jsonl');
    writeFileSync(whole, '{"a":1}\n{"a":2}\n');
    expect(repairTornLine(whole)).toBe(0);
    expect(repairTornLine(join(dir, 'missing.jsonl'))).toBe(0);
    const torn = join(dir, 'torn.jsonl');
    const tail = `{"a":"${'z'.repeat(100_000)}`;
    writeFileSync(torn, `{"a":1}\n${tail}`);
    expect(repairTornLine(torn)).toBe(tail.length);
    expect(readFileSync(torn, 'utf8')).toBe('{"a":1}\n');
    const only = join(dir, 'only.jsonl');
    writeFileSync(only, '{"a":');
    expect(repairTornLine(only)).toBe(5);
    expect(readFileSync(only, 'utf8')).toBe('');
  });

  it('repairEventFile cuts an incomplete final record and leaves a whole file alone', () => {
    const writer = EventWriter.create(tmp());
    writer.addScalar('Loss/value', 1, 1);
    writer.close();
    expect(repairEventFile(writer.path)).toBe(0);
    const size = fs.statSync(writer.path).size;
    fs.appendFileSync(writer.path, Buffer.alloc(9, 7)); // shorter than a record header
    expect(repairEventFile(writer.path)).toBe(9);
    expect(fs.statSync(writer.path).size).toBe(size);
  });
});

describe('write failures as user errors', () => {
  it('names the folder, what went wrong, how many samples are saved, and what to do; other errors are not write failures', () => {
    const e = runFolderWriteError(errno('ENOSPC'), '/scratch/runs/r1', 1)!;
    expect(e.code).toBe('RUN_FOLDER_WRITE');
    expect(e.message).toBe('cannot write the run folder /scratch/runs/r1: the disk is full (ENOSPC); 1 sample is saved there and every file holds whole records');
    expect(e.hint).toMatch(/^Free space/);
    expect(runFolderWriteError(errno('EROFS'), '/ro', undefined)!.message).toBe('cannot write the run folder /ro: the file system is read-only (EROFS)');
    const wrapped = Object.assign(new Error('Cannot create the event file'), { cause: errno('EDQUOT') });
    expect(runFolderWriteError(wrapped, '/q', 0)!.message).toMatch(/quota is exceeded \(EDQUOT\); 0 samples are saved/);
    expect(runFolderWriteError(new Error('something else'), '/x', 3)).toBeUndefined();
    expect(runFolderWriteError(errno('ENOENT'), '/x', 3)).toBeUndefined();
  });

  it('outside a run folder (tpt convert --out, tpt merge --out) names the path the system call reported', () => {
    const e = outputWriteError(Object.assign(errno('EROFS'), { path: '/mnt/ro/weights/model.json' }))!;
    expect(e.code).toBe('OUTPUT_WRITE');
    expect(e.message).toBe('cannot write /mnt/ro/weights/model.json: the file system is read-only (EROFS)');
    expect(e.hint).toBe('Write to a writable file system (or remount this one read-write), then run the command again.');
    expect(outputWriteError(new TypeError('x is undefined'))).toBeUndefined();
  });
});

describe('outputWriteError', () => {
  it('names the path of the failed call, also when a wrapper keeps the fs error as its cause', () => {
    const fsError = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/out/model.bin' });
    const direct = outputWriteError(fsError);
    const wrapped = outputWriteError(new Error('writing the weights failed', { cause: fsError }));
    for (const e of [direct, wrapped]) {
      expect(e?.code).toBe('OUTPUT_WRITE');
      expect(e?.message).toMatch(/^cannot write \/out\/model\.bin: .*\(ENOSPC\)$/);
    }
    expect(outputWriteError(new Error('not a write failure'))).toBeUndefined();
  });
});
