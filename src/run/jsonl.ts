import fs from 'node:fs';
import { TptError } from '../errors.js';
import { RecordAppender } from '../io/record-appender.js';

export { RecordAppender } from '../io/record-appender.js';

/**
 * JSON-lines files that survive a killed process and a full disk: every line is appended with ONE write
 * call, so a kill leaves at most one incomplete last line, which `readJsonLines` drops (and cuts off the
 * file) on resume; a write that fails part way (ENOSPC, EDQUOT) is cut off at once, so the file keeps whole
 * lines only. `fs` is used through its module object so tests can make its calls fail.
 */

export interface JsonLinesContent<T> {
  records: T[];
  /** Bytes of an incomplete last line that were dropped. */
  droppedBytes: number;
}

/** Reads a JSON-lines file; a missing file is empty. With `repair`, an incomplete last line is cut off the file. */
export function readJsonLines<T>(path: string, options: { repair?: boolean } = {}): JsonLinesContent<T> {
  if (!fs.existsSync(path)) return { records: [], droppedBytes: 0 };
  const bytes = fs.readFileSync(path);
  const lastNewline = bytes.lastIndexOf(0x0a);
  const completeLength = lastNewline + 1;
  const droppedBytes = bytes.length - completeLength;
  const text = bytes.subarray(0, completeLength).toString('utf8');
  const records: T[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      throw new TptError('RUN_FOLDER_CORRUPT', `${path}: line ${i + 1} is not valid JSON`, {
        hint: 'The file was edited or damaged; restore it, or start the run over with --fresh.',
      });
    }
  }
  if (droppedBytes > 0 && options.repair) fs.truncateSync(path, completeLength);
  return { records, droppedBytes };
}

/**
 * Cuts an incomplete last line off a text file without reading all of it (log.jsonl may be large); returns
 * the bytes cut. A missing or empty file is left alone.
 */
export function repairTornLine(path: string): number {
  if (!fs.existsSync(path)) return 0;
  const fd = fs.openSync(path, 'r');
  let cut = 0;
  try {
    const size = fs.fstatSync(fd).size;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const read = fs.readSync(fd, chunk, 0, end - start, start);
      const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
      if (newline >= 0) {
        cut = size - (start + newline + 1);
        break;
      }
      end = start;
      if (end === 0) cut = size; // no newline at all: one torn line
    }
  } finally {
    fs.closeSync(fd);
  }
  if (cut > 0) fs.truncateSync(path, fs.statSync(path).size - cut);
  return cut;
}

export class JsonLinesAppender {
  private readonly out: RecordAppender;

  constructor(readonly path: string) {
    this.out = new RecordAppender(path);
  }

  /** Appends one record as one line, in a single write call. */
  append(record: unknown): void {
    this.out.append(Buffer.from(`${JSON.stringify(record)}\n`, 'utf8'));
  }

  close(): void {
    this.out.close();
  }
}
