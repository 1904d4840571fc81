import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../src/data/dataset.js';
import { extractDatasetArchive } from '../../src/data/extract.js';
import { TptError } from '../../src/errors.js';
import { makeFixtureDataset, tempDir } from './fixture-dataset.js';

let root: string;
let work: string;
let archive: string;
beforeAll(async () => {
  root = await makeFixtureDataset();
  work = await tempDir('extract');
  archive = join(work, 'imagenet-a.tar');
  await tar.c({ file: archive, cwd: dirname(root) }, [basename(root)]);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<TptError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TptError);
  expect((error as TptError).code).toBe(code);
  expect((error as TptError).hint).toBeTruthy();
  return error as TptError;
}

describe('extractDatasetArchive', () => {
  it('unpacks a tar and finds the dataset folder inside it', async () => {
    const out = join(work, 'out');
    const result = await extractDatasetArchive(archive, out);
    expect(result.datasetRoot).toBe(join(out, basename(root)));
    const original = await openDataset(root, { allowPartial: true });
    const extracted = await openDataset(result.datasetRoot, { allowPartial: true });
    expect(extracted.samples).toEqual(original.samples);
    const file = original.samples[0]?.file as string;
    expect(await readFile(join(result.datasetRoot, file))).toEqual(await readFile(join(root, file)));
  });

  it('unpacks a gzipped tar too', async () => {
    const gz = join(work, 'imagenet-a.tar.gz');
    await writeFile(gz, gzipSync(await readFile(archive)));
    const result = await extractDatasetArchive(gz, join(work, 'out-gz'));
    expect((await openDataset(result.datasetRoot, { allowPartial: true })).samples).toHaveLength(10);
  });

  it('refuses a truncated archive, cut inside an entry or between entries', async () => {
    const bytes = await readFile(archive);
    const inside = join(work, 'cut-inside.tar');
    await writeFile(inside, bytes.subarray(0, 512 * 3 + 100));
    const e = await expectCode(extractDatasetArchive(inside, join(work, 'out-cut1')), 'ARCHIVE_TRUNCATED');
    expect(e.message).toMatch(/truncated/);
    const between = join(work, 'cut-between.tar');
    await writeFile(between, bytes.subarray(0, 1024)); // exactly two header blocks of folders
    await expectCode(extractDatasetArchive(between, join(work, 'out-cut2')), 'ARCHIVE_TRUNCATED');
    const gzCut = join(work, 'cut.tar.gz');
    const gz = gzipSync(bytes);
    await writeFile(gzCut, gz.subarray(0, gz.length - 40));
    await expectCode(extractDatasetArchive(gzCut, join(work, 'out-cut3')), 'ARCHIVE_TRUNCATED');
  });

  it('refuses a file that is not a tar archive, and a missing one', async () => {
    const junk = join(work, 'junk.tar');
    await writeFile(junk, Buffer.from('PK\u0003\u0004 this is a zip, not a tar'.repeat(40)));
    await expectCode(extractDatasetArchive(junk, join(work, 'out-junk')), 'ARCHIVE_NOT_TAR');
    await expectCode(extractDatasetArchive(join(work, 'nope.tar'), join(work, 'out-nope')), 'ARCHIVE_NOT_FOUND');
  });

  it('refuses an archive that holds something other than ImageNet-A', async () => {
    const other = await tempDir('other');
    await writeFile(join(other, 'hello.txt'), 'hi');
    const otherTar = join(work, 'other.tar');
    await tar.c({ file: otherTar, cwd: other }, ['hello.txt']);
    await rm(other, { recursive: true });
    await expectCode(extractDatasetArchive(otherTar, join(work, 'out-other')), 'ARCHIVE_NOT_THIS_SET');
  });
});
