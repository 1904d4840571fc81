import fs, { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p` whose failure names its real cause. Node's recursive mkdir reports ENOENT ("no such file or
 * directory") when a level cannot be made for another reason, e.g. on a read-only file system (seen on Node
 * 20 with a read-only tmpfs), which the write-failure catalogue cannot tell from a typo. On ENOENT the
 * missing levels are made one at a time, so the first that fails throws its own errno (EROFS, EACCES, …).
 * (Through the `fs` object, so tests can stand in for a file system that refuses.)
 */
export function makeFolderSync(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    for (const level of missingLevels(dir)) fs.mkdirSync(level);
    throw error; // every level made: the first error stands
  }
}

export async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    for (const level of missingLevels(dir)) await mkdir(level);
    throw error;
  }
}

/** The folders from the first missing one down to `dir`. */
function missingLevels(dir: string): string[] {
  const levels: string[] = [];
  for (let path = resolve(dir); !existsSync(path); path = dirname(path)) {
    levels.unshift(path);
    if (dirname(path) === path) break;
  }
  return levels;
}
