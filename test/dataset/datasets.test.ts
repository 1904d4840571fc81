import { basename, dirname, join } from 'node:path';
import { rm } from 'node:fs/promises';
import { readdir, writeFile } from 'node:fs/promises';
import * as tar from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { datasetFolder } from '../../src/config/schema.js';
import { formatVerifyReport, verifyDataset } from '../../src/data/dataset-verify.js';
import { openDataset, scanDataset } from '../../src/data/dataset.js';
import { extractDatasetArchive } from '../../src/data/extract.js';
import { TptError } from '../../src/errors.js';
import { generateRunName } from '../../src/run/run-name.js';
import { storedZip, tempDir, tinyImage, writeFiles } from './fixture-dataset.js';

const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

async function folder(prefix: string, files: string[]): Promise<string> {
  const root = await tempDir(prefix);
  cleanup.push(root);
  const png = await tinyImage('png');
  await writeFiles(root, Object.fromEntries(files.map((f) => [f, png])));
  return root;
}

async function errorOf(promise: Promise<unknown>): Promise<TptError> {
  const e = await promise.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(TptError);
  return e as TptError;
}

describe('ImageNet-V2 (folders 0 … 999 are class indices)', () => {
  it('visits the folders in ImageFolder (string) order but labels each by its number: folder 10 is class 10', async () => {
    const root = await folder('v2', ['0/a.jpeg', '1/a.jpeg', '2/b.jpeg', '2/a.jpeg', '10/a.jpeg', '100/a.jpeg', '999/a.jpeg']);
    const ds = await openDataset(root, { dataset: 'imagenet-v2', allowPartial: true });
    expect(ds.samples.map((s) => [s.file, s.target])).toEqual([
      ['0/a.jpeg', 0],
      ['1/a.jpeg', 1],
      ['10/a.jpeg', 10],
      ['100/a.jpeg', 100],
      ['2/a.jpeg', 2],
      ['2/b.jpeg', 2],
      ['999/a.jpeg', 999],
    ]);
    expect(ds.samples.find((s) => s.target === 10)?.wnid).toBe('n01530575'); // brambling, ImageNet class 10
    expect(ds.classes[10]).toMatchObject({ folder: '10', images: 1, present: true });
  });

  it('refuses a wnid-folder dataset, and folders beyond 999', async () => {
    const wnids = await folder('v2-wrong', ['n01440764/a.png', 'n01443537/a.png']);
    const e = await errorOf(openDataset(wnids, { dataset: 'imagenet-v2', allowPartial: true }));
    expect(e.code).toBe('DATASET_NOT_THIS_SET');
    expect(e.message).toMatch(/no class-index class folders/);
    const beyond = await folder('v2-beyond', ['0/a.png', '1000/a.png']);
    const b = await errorOf(openDataset(beyond, { dataset: 'imagenet-v2', allowPartial: true }));
    expect(b.code).toBe('DATASET_NOT_USABLE');
    expect(b.message).toMatch(/1000\/ is a class index outside ImageNet-V2's 1000 classes/);
  });
});

describe('wnid datasets other than ImageNet-A', () => {
  it('ImageNet-R labels by its 200-class list; an ImageNet-A-only wnid is foreign there', async () => {
    const root = await folder('r', ['n01443537/x.png', 'n01484850/y.png']);
    const ds = await openDataset(root, { dataset: 'imagenet-r', allowPartial: true });
    expect(ds.samples.map((s) => s.target)).toEqual([0, 1]);
    expect(ds.classes).toHaveLength(200);
    // stingray and goldfinch are in both A and R; American robin (n01558993) is in A only
    const shared = await folder('r-shared', ['n01443537/x.png', 'n01498041/z.png', 'n01531178/z.png']);
    expect((await scanDataset(shared, { dataset: 'imagenet-r', allowPartial: true })).samples).toHaveLength(3);
    const aOnly = await folder('r-aonly', ['n01443537/x.png', 'n01558993/z.png']);
    const e = await errorOf(openDataset(aOnly, { dataset: 'imagenet-r', allowPartial: true }));
    expect(e.message).toMatch(/n01558993\/ is a WordNet id outside ImageNet-R's 200 classes/);
  });

  it('ImageNet (val in wnid folders) and Sketch take all 1000 classes; a missing class is listed', async () => {
    const root = await folder('in', ['n01440764/a.JPEG', 'n15075141/b.JPEG']);
    const ds = await scanDataset(root, { dataset: 'imagenet' });
    expect(ds.samples.map((s) => s.target)).toEqual([0, 999]);
    const e = await errorOf(openDataset(root, { dataset: 'imagenet' }));
    expect(e.code).toBe('DATASET_NOT_USABLE');
    expect(e.message).toMatch(/2 of 1000 classes have images/);
    expect(e.message).toMatch(/n01443537\/ \(goldfish\) is missing/);
    const sketch = await scanDataset(root, { dataset: 'imagenet-sketch', allowPartial: true });
    expect(sketch.samples.map((s) => s.target)).toEqual([0, 999]);
  });
});

describe('verify and extract know each layout and its size', () => {
  it('verify reports the published size and the class count of the dataset', async () => {
    const root = await folder('v2-verify', ['0/a.png', '10/a.png']);
    const report = await verifyDataset(root, { dataset: 'imagenet-v2', allowPartial: true, decode: 'none' });
    expect(report).toMatchObject({ dataset: 'imagenet-v2', expectedImages: 10000, classesTotal: 1000, totalImages: 2, usable: true });
    const text = formatVerifyReport(report);
    expect(text).toMatch(/^ImageNet-V2 folder:/);
    expect(text).toMatch(/2 images in 2 of 1000 class folders/);
    expect(text).toMatch(/The published ImageNet-V2 has 10,000 images in 1000 classes/);
    const sizes = await Promise.all(
      (['imagenet-a', 'imagenet-r', 'imagenet-sketch', 'imagenet'] as const).map(async (d) => (await verifyDataset(root, { dataset: d, decode: 'none' })).expectedImages),
    );
    expect(sizes).toEqual([7500, 30000, 50889, 50000]);
    const wrong = await verifyDataset(root, { dataset: 'imagenet', decode: 'none' });
    expect(wrong.usable).toBe(false);
    expect(wrong.problems[0]?.kind).toBe('not_dataset');
  });

  it('extract finds the V2 folder inside its archive', async () => {
    const work = await tempDir('v2-tar');
    cleanup.push(work);
    const inner = join(await folder('v2-src', []), 'imagenetv2-matched-frequency-format-val');
    await writeFiles(inner, { '0/a.jpeg': await tinyImage('jpeg'), '10/b.jpeg': await tinyImage('jpeg') });
    const archive = join(work, 'imagenetv2-matched-frequency.tar');
    await tar.c({ file: archive, cwd: dirname(inner) }, [basename(inner)]);
    const result = await extractDatasetArchive(archive, join(work, 'out'), { dataset: 'imagenet-v2' });
    expect(result.datasetRoot).toBe(join(work, 'out', 'imagenetv2-matched-frequency-format-val'));
    const e = await errorOf(extractDatasetArchive(archive, join(work, 'out2'), { dataset: 'imagenet-r' }));
    expect(e.code).toBe('ARCHIVE_NOT_THIS_SET');
  });

  it('extract unpacks ImageNet-Sketch’s zip, and refuses a cut one or one that climbs out of the folder', async () => {
    const work = await tempDir('sketch-zip');
    cleanup.push(work);
    const jpeg = await tinyImage('jpeg');
    const zip = storedZip({ 'sketch/n01440764/sketch_0.JPEG': jpeg, 'sketch/n15075141/sketch_1.JPEG': jpeg });
    const archive = join(work, 'ImageNet-Sketch.zip');
    await writeFile(archive, zip);
    const result = await extractDatasetArchive(archive, join(work, 'out'), { dataset: 'imagenet-sketch' });
    expect(result).toMatchObject({ datasetRoot: join(work, 'out', 'sketch'), entries: 2 });
    const ds = await scanDataset(result.datasetRoot, { dataset: 'imagenet-sketch', allowPartial: true });
    expect(ds.samples.map((s) => [s.file, s.target])).toEqual([
      ['n01440764/sketch_0.JPEG', 0],
      ['n15075141/sketch_1.JPEG', 999],
    ]);
    const cut = join(work, 'cut.zip');
    await writeFile(cut, zip.subarray(0, zip.length - 30));
    const cutError = await errorOf(extractDatasetArchive(cut, join(work, 'out-cut'), { dataset: 'imagenet-sketch' }));
    expect(cutError.message).toMatch(/nor a readable zip.*cut short/);
    const evil = join(work, 'evil.zip');
    await writeFile(evil, storedZip({ '../escaped.JPEG': jpeg }));
    expect((await errorOf(extractDatasetArchive(evil, join(work, 'out-evil'), { dataset: 'imagenet-sketch' }))).code).toBe('ARCHIVE_TRUNCATED');
    await expect(readdir(work)).resolves.not.toContain('escaped.JPEG');
  });
});

describe('config keys dataset and dataset_path', () => {
  it('dataset_path wins over imagenet_a_path, for every dataset; imagenet_a_path alone still works', () => {
    const seedStyle = loadConfig(undefined, ['imagenet_a_path="/data/ia"']);
    expect(seedStyle.dataset).toBe('imagenet-a');
    expect(datasetFolder(seedStyle)).toBe('/data/ia');
    expect(datasetFolder(loadConfig(undefined, ['imagenet_a_path="/data/ia"', 'dataset_path="/data/other"']))).toBe('/data/other');
    const r = loadConfig(undefined, ['dataset="imagenet-r"', 'dataset_path="/data/r"']);
    expect(datasetFolder(r)).toBe('/data/r');
  });

  it('refuses another dataset without dataset_path, and an unknown dataset', () => {
    expect(() => loadConfig(undefined, ['dataset="imagenet-r"'])).toThrow(/needs dataset_path/);
    expect(() => loadConfig(undefined, ['dataset="imagenet-c"'])).toThrow(TptError);
  });

  it('a run on another dataset gets its own folder name; ImageNet-A names stay the seed’s', () => {
    const a = loadConfig(undefined, []);
    const v2 = loadConfig(undefined, ['dataset="imagenet-v2"', 'dataset_path="/d"', 'shard="0/2"']);
    expect(generateRunName(a)).not.toMatch(/dataset=/);
    expect(generateRunName(v2)).toMatch(/_dataset=imagenet-v2_shard=0of2$/);
  });
});
