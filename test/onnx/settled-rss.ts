import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A real collection between measurements, so garbage waiting for the next GC does not read as growth.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The process's RSS after two full collections. */
export function settledRss(): number {
  gc();
  gc();
  return process.memoryUsage().rss;
}

export const MB = 1024 * 1024;
