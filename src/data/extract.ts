/**
 * `tpt dataset extract`: unpacks a dataset archive, streaming it through npm `tar`; `.tar.gz` works too, and a
 * zip is recognised by its first bytes and unpacked by extract-zip.ts. The archives are those the registry
 * entries name (`archive`): the ImageNet variants' (one folder of class folders) and the ones CoOp's
 * DATASETS.md lists for the cross-dataset sets. The dataset's folder is then found by what it holds: its
 * class folders, or the entry the registry names as CoOp's dataset folder's (`listing.rootMarker`).
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
import { type DatasetName, type DatasetSpec, DEFAULT_DATASET, getDataset } from './datasets/registry.js';
import { makeFolder } from '../io/make-folder.js';

const END_OF_ARCHIVE_BYTES = 1024; // two 512-byte zero blocks

export interface ExtractResult {
  readonly archive: string;
  readonly outDir: string;
  /** The dataset's folder (e.g. `<outDir>/<its folder>`): the value for its path key. */
  readonly datasetRoot: string;
  /** Archive entries read (files, folders, …). */
  readonly entries: number;
}

export interface ExtractOptions {
  /** Registry name of the dataset the archive holds; default: the registry's default dataset. */
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

/** Whether `dir` is the dataset's folder: it holds class folders (folder-tree sets) or the entry CoOp's dataset folder holds. */
async function isDatasetFolder(dir: string, spec: DatasetSpec): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  if (spec.listing.kind === 'folder-tree') {
    const byFolder = classesByFolder(spec);
    return entries.some((e) => e.isDirectory() && byFolder.has(e.name));
  }
  const marker = spec.listing.rootMarker;
  return entries.some((e) => e.name === marker);
}

/**
 * `outDir` itself, or the one folder below it (two levels at most: FGVC-Aircraft's archive holds
 * `fgvc-aircraft-2013b/data/`) that is the dataset's folder.
 */
export async function locateDatasetRoot(outDir: string, dataset: DatasetName = DEFAULT_DATASET): Promise<string | undefined> {
  const spec = getDataset(dataset);
  if (await isDatasetFolder(outDir, spec)) return outDir;
  const subfolders = async (dir: string): Promise<string[]> =>
    (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  for (const level of [await subfolders(outDir), (await Promise.all((await subfolders(outDir)).map(subfolders))).flat()]) {
    const candidates: string[] = [];
    for (const dir of level) if (await isDatasetFolder(dir, spec)) candidates.push(dir);
    if (candidates.length > 0) return candidates.length === 1 ? candidates[0] : undefined;
  }
  return undefined;
}

/** Unpacks `archive` into `outDir` (created if needed) and returns where the dataset landed. */
export async function extractDatasetArchive(archive: string, outDir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const spec = getDataset(options.dataset ?? DEFAULT_DATASET);
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
    const what = spec.listing.kind === 'folder-tree' ? `${spec.title} class folders` : `${spec.title} folder (one holding ${spec.listing.rootMarker})`;
    throw new TptError('ARCHIVE_NOT_THIS_SET', `${archive} unpacked into ${outDir}, but no ${what} appeared there`, {
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
