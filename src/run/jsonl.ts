import { closeSync, existsSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { TptError } from '../errors.js';

/**
 * JSON-lines files that survive a killed process: every line is appended with ONE write call, so a kill
 * leaves at most one incomplete last line, which `readJsonLines` drops (and cuts off the file) on resume.
 */

export interface JsonLinesContent<T> {
  records: T[];
  /** Bytes of an incomplete last line that were dropped. */
  droppedBytes: number;
}

/** Reads a JSON-lines file; a missing file is empty. With `repair`, an incomplete last line is cut off the file. */
export function readJsonLines<T>(path: string, options: { repair?: boolean } = {}): JsonLinesContent<T> {
  if (!existsSync(path)) return { records: [], droppedBytes: 0 };
  const bytes = readFileSync(path);
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
  if (droppedBytes > 0 && options.repair) truncateSync(path, completeLength);
  return { records, droppedBytes };
}

export class JsonLinesAppender {
  private fd: number | null;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  /** Appends one record as one line, in a single write call. */
  append(record: unknown): void {
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
