import { pino, type Logger } from 'pino';

/**
 * The run's JSON-lines log (`log.jsonl`, pino's format: one object per line with level, time, msg). Writes
 * are synchronous so a killed run keeps every line up to the kill, like samples.jsonl.
 */
export interface RunLogger {
  logger: Logger;
  close(): void;
}

export function createRunLogger(path: string): RunLogger {
  const destination = pino.destination({ dest: path, sync: true, append: true, mkdir: true });
  const logger = pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return {
    logger,
    close: () => {
      destination.flushSync();
      destination.end();
    },
  };
}
