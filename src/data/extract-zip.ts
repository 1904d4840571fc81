/**
 * The zip half of `tpt dataset extract`: ImageNet-Sketch ships as `ImageNet-Sketch.zip` (`sketch/<wnid>/*.JPEG`).
 * yauzl reads the central directory at the end of the file, so a cut archive fails before anything is written,
 * and it refuses absolute paths and `..` in entry names (its default file-name validation), so an archive cannot
 * write outside `outDir`. Entries are streamed to disk one at a time.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

/** PK\x03\x04: the local-file-header signature every non-empty zip starts with. */
export function isZipHead(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

export interface ZipOutcome {
  entries: number;
  /** The archive could not be opened at all (no central directory: cut short, or not a zip). */
  unreadable?: Error;
  /** An entry failed part way (bad data, a size that does not match the directory). */
  failure?: Error;
}

/** Unpacks every entry of `archive` under `outDir`; failures are returned, not thrown, for the caller's messages. */
export async function unzipInto(archive: string, outDir: string, onEntry?: (path: string, count: number) => void): Promise<ZipOutcome> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(archive, { lazyEntries: true, validateEntrySizes: true, autoClose: true });
  } catch (e) {
    return { entries: 0, unreadable: e as Error };
  }
  let entries = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      entries++;
      onEntry?.(entry.fileName, entries);
      const target = join(outDir, entry.fileName);
      if (entry.fileName.endsWith('/')) {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target));
    }
  } catch (e) {
    zip.close();
    return { entries, failure: e as Error };
  }
  return { entries };
}
