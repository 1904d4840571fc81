/**
 * `tpt dataset extract`: unpacks a dataset archive, streaming it through npm `tar`; `.tar.gz` works too. The
 * seed's is ImageNet-A's (`imagenet-a.tar`, which holds `imagenet-a/<wnid>/*.jpg` and a README); ImageNet-R's
 * `imagenet-r.tar` and ImageNet-V2's `imagenetv2-matched-frequency.tar.gz` have the same shape (one folder
 * of class folders), and the result is found by the dataset's class-folder names. A zip (ImageNet-Sketch's
 * `ImageNet-Sketch.zip`) is recognised by its first bytes and unpacked by extract-zip.ts.
 *
 * Truncation: a cut inside an entry makes `tar` fail ("Truncated input"); a cut exactly between entries does
 * not, so we also require the two zero blocks that end every POSIX tar archive. gzip checks its own end.
 * `tar` refuses absolute paths and `..` in entry names by default, so an archive cannot write outside `outDir`.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import { TptError } from '../errors.js';
import { classesByFolder } from './dataset.js';
import { isZipHead, unzipInto } from './extract-zip.js';
import { type DatasetName, type DatasetSpec, getDataset } from './datasets/registry.js';
import { makeFolder } from '../io/make-folder.js';

const END_OF_ARCHIVE_BYTES = 1024; // two 512-byte zero blocks

export interface ExtractResult {
  readonly archive: string;
  readonly outDir: string;
  /** The folder holding the class folders (e.g. `<outDir>/imagenet-a`): the value for dataset_path. */
  readonly datasetRoot: string;
  /** Archive entries read (files, folders, …). */
  readonly entries: number;
}

export interface ExtractOptions {
  /** Registry name of the dataset the archive holds; default `imagenet-a`. */
  readonly dataset?: DatasetName;
  /** Called for each archive entry with its path and the running count. */
  readonly onEntry?: (path: string, count: number) => void;
}

/** Remembers the last `END_OF_ARCHIVE_BYTES` bytes of a stream. */
class TailKeeper {
  tail = Buffer.alloc(0);
  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.tail, chunk]);
    this.tail = joined.subarray(Math.max(0, joined.length - END_OF_ARCHIVE_BYTES));
  }
}

/**
 * Feeds `source` into `extractor` by hand instead of with `pipeline`: on a failure `pipeline` destroys the
 * extractor while its file writes are still in flight, whereas ending it lets `tar` finish (and close) every
 * file first. Resolves once the extractor has closed, with the first error seen on either side.
 */
function feed(source: Readable, extractor: tar.Unpack, tail: TailKeeper): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let firstError: Error | undefined;
    extractor.on('error', (e: Error) => {
      firstError ??= e;
    });
    extractor.on('close', () => resolve(firstError));
    source.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      if (!extractor.write(chunk)) {
        source.pause();
        extractor.once('drain', () => source.resume());
      }
    });
    source.on('end', () => extractor.end());
    source.on('error', (e: Error) => {
      firstError ??= e;
      extractor.end();
    });
  });
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function isGzipHead(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

async function hasClassFolders(dir: string, spec: DatasetSpec): Promise<boolean> {
  const byFolder = classesByFolder(spec);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.some((e) => e.isDirectory() && byFolder.has(e.name));
}

/** `outDir` itself, or its one subfolder (e.g. `imagenet-a/`), whichever holds the dataset's class folders. */
export async function locateDatasetRoot(outDir: string, dataset: DatasetName = 'imagenet-a'): Promise<string | undefined> {
  const spec = getDataset(dataset);
  if (await hasClassFolders(outDir, spec)) return outDir;
  const entries = await readdir(outDir, { withFileTypes: true }).catch(() => []);
  const candidates: string[] = [];
  for (const e of entries) if (e.isDirectory() && (await hasClassFolders(join(outDir, e.name), spec))) candidates.push(join(outDir, e.name));
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** Unpacks `archive` into `outDir` (created if needed) and returns where the dataset landed. */
export async function extractDatasetArchive(archive: string, outDir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const spec = getDataset(options.dataset ?? 'imagenet-a');
  try {
    if (!(await stat(archive)).isFile()) throw new Error('not a file');
  } catch (e) {
    throw new TptError('ARCHIVE_NOT_FOUND', `cannot read the archive ${archive}: ${(e as Error).message}`, {
      hint: `download ${spec.archive} (${spec.download}) and pass its path`,
      cause: e,
    });
  }
  await makeFolder(outDir);
  const head = await readHead(archive);
  const hint = `download ${spec.archive} again (the file is incomplete or damaged), then rerun \`tpt dataset extract\``;
  const entries = isZipHead(head) ? await extractZip(archive, outDir, hint, options) : await extractTar(archive, outDir, isGzipHead(head), hint, options);
  const datasetRoot = await locateDatasetRoot(outDir, spec.name);
  if (datasetRoot === undefined) {
    throw new TptError('ARCHIVE_NOT_THIS_SET', `${archive} unpacked into ${outDir}, but no ${spec.title} class folders appeared there`, {
      hint: `the archive is not ${spec.title} (it should unpack to ${spec.folderHint}); pick the dataset with --dataset`,
    });
  }
  return { archive, outDir, datasetRoot, entries };
}

async function extractZip(archive: string, outDir: string, hint: string, options: ExtractOptions): Promise<number> {
  const outcome = await unzipInto(archive, outDir, options.onEntry);
  if (outcome.unreadable !== undefined) {
    // No central directory: a zip cut short looks exactly like any other file that starts with "PK".
    throw new TptError('ARCHIVE_NOT_TAR', `${archive} is neither a tar archive nor a readable zip (${outcome.unreadable.message}); a zip cut short reads like this too`, {
      hint,
      cause: outcome.unreadable,
    });
  }
  if (outcome.failure !== undefined) {
    throw new TptError('ARCHIVE_TRUNCATED', `${archive} is damaged after ${outcome.entries} entries (${outcome.failure.message})`, { hint, cause: outcome.failure });
  }
  if (outcome.entries === 0) throw new TptError('ARCHIVE_NOT_TAR', `${archive} holds no entries`, { hint });
  return outcome.entries;
}

/** The tar (or tar.gz) archive into `outDir`; returns the number of entries. */
async function extractTar(archive: string, outDir: string, gzip: boolean, hint: string, options: ExtractOptions): Promise<number> {
  const tail = new TailKeeper();
  let entries = 0;
  const extractor = tar.x({
    cwd: outDir,
    strict: true, // every tar warning (bad header, truncated input) is an error
    onReadEntry: (entry) => {
      entries++;
      options.onEntry?.(entry.path, entries);
    },
  });
  const raw = createReadStream(archive);
  let source: Readable = raw;
  if (gzip) {
    const gunzip = createGunzip();
    raw.on('error', (e) => gunzip.destroy(e));
    source = raw.pipe(gunzip);
  }
  const failure = await feed(source, extractor, tail);
  if (failure !== undefined) {
    const message = failure.message ?? String(failure);
    const gzipCut = gzip && /unexpected end of file/i.test(message);
    if (entries === 0 && !gzipCut) {
      throw new TptError('ARCHIVE_NOT_TAR', `${archive} is not a tar archive (${message})`, { hint, cause: failure });
    }
    throw new TptError('ARCHIVE_TRUNCATED', `${archive} is truncated or damaged after ${entries} entries (${message})`, {
      hint,
      cause: failure,
    });
  }
  if (entries === 0) {
    throw new TptError('ARCHIVE_NOT_TAR', `${archive} holds no tar entries`, { hint });
  }
  if (tail.tail.length < END_OF_ARCHIVE_BYTES || tail.tail.some((b) => b !== 0)) {
    throw new TptError(
      'ARCHIVE_TRUNCATED',
      `${archive} is truncated: it ends after ${entries} entries without the end-of-archive blocks`,
      { hint },
    );
  }
  return entries;
}

/** `extractDatasetArchive` of ImageNet-A (the seed's only dataset). */
export function extractImageNetAArchive(archive: string, outDir: string, options: Omit<ExtractOptions, 'dataset'> = {}): Promise<ExtractResult> {
  return extractDatasetArchive(archive, outDir, { ...options, dataset: 'imagenet-a' });
}
