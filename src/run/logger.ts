import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import { RecordAppender } from './jsonl.js';

/**
 * The run's JSON-lines log (`log.jsonl`, pino's format: one object per line with level, time, msg). pino
 * hands each line to a synchronous appender (one write call per line, a torn line cut off at once), so a
 * killed run keeps every line up to the kill, like samples.jsonl, and a full disk surfaces as the write
 * error of the logging call.
 */
export interface RunLogger {
  logger: Logger;
  close(): void;
}

export function createRunLogger(path: string): RunLogger {
  mkdirSync(dirname(path), { recursive: true });
  const out = new RecordAppender(path);
  const destination = { write: (line: string) => out.append(Buffer.from(line, 'utf8')) };
  const logger = pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return { logger, close: () => out.close() };
}
