import { rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as tar from 'tar';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { formatVerifyReport, verifyDataset } from '../../src/data/dataset-verify.js';
import { openDataset, scanDataset } from '../../src/data/dataset.js';
import { extractDatasetArchive } from '../../src/data/extract.js';
import { benchmarkDatasets, datasetClassnames, getDataset } from '../../src/data/datasets/registry.js';
import { TptError } from '../../src/errors.js';
import { previewViews } from '../../src/preview.js';
import { storedZip, tempDir, tinyImage } from './fixture-dataset.js';
import { AIRCRAFT_LINES, DTD_ENTRIES, writeAircraftTree, writeDtdTree } from './split-trees.js';

async function tptError(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<TptError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TptError);
  expect((error as TptError).code).toBe(code);
  expect((error as TptError).message).toMatch(pattern);
  expect((error as TptError).hint).toBeTruthy();
  return error as TptError;
}

describe("the cross-dataset sets' class lists (azshue/TPT data/cls_to_names.py)", () => {
  it('have the class counts of TPT Table 2 and the names TPT prompts with, indexed by label', () => {
    const counts = Object.fromEntries(benchmarkDatasets('cross-dataset').map((s) => [s.name, s.classes.length]));
    expect(counts).toEqual({
      flowers102: 102, dtd: 47, 'oxford-pets': 37, 'stanford-cars': 196, ucf101: 101,
      caltech101: 100, food101: 101, sun397: 397, 'fgvc-aircraft': 100, eurosat: 10,
    });
    // Flowers: cat_to_name ordered by key − 1 ("1" pink primrose … "102" blackberry lily)
    expect(datasetClassnames('flowers102').slice(0, 2)).toEqual(['pink primrose', 'hard-leaved pocket orchid']);
    expect(datasetClassnames('flowers102')[101]).toBe('blackberry lily');
    expect(datasetClassnames('dtd')[46]).toBe('zigzagged');
    expect(datasetClassnames('oxford-pets')[0]).toBe('abyssinian');
    expect(datasetClassnames('stanford-cars')[0]).toBe('2000 AM General Hummer SUV');
    expect(datasetClassnames('ucf101')[0]).toBe('Apply_Eye_Makeup');
    expect(datasetClassnames('caltech101').slice(0, 3)).toEqual(['face', 'leopard', 'motorbike']);
    expect(datasetClassnames('food101')[0]).toBe('apple_pie');
    expect(datasetClassnames('sun397')[8]).toBe('outdoor apartment_building');
    expect(datasetClassnames('fgvc-aircraft')[41]).toBe('Boeing 717');
    expect(datasetClassnames('eurosat')).toEqual([
      'Annual Crop Land', 'Forest', 'Herbaceous Vegetation Land', 'Highway or Road', 'Industrial Buildings',
      'Pasture Land', 'Permanent Crop Land', 'Residential Buildings', 'River', 'Sea or Lake',
    ]);
  });

  it('carry the paper columns of Table 2 in its order, and the views rule that resolves a null augmix', () => {
    expect(benchmarkDatasets('cross-dataset').map((s) => s.column)).toEqual(['Flowers', 'DTD', 'Pets', 'Cars', 'UCF101', 'Caltech', 'Food101', 'SUN397', 'Aircraft', 'EuroSAT']);
    expect(benchmarkDatasets('natural-shift').map((s) => s.name)).toEqual(['imagenet', 'imagenet-a', 'imagenet-v2', 'imagenet-r', 'imagenet-sketch']);
    expect(loadConfig(undefined, ['dataset="dtd"', 'dataset_path="/d"']).augmix).toBe(true);
    expect(loadConfig(undefined, ['dataset="dtd"', 'dataset_path="/d"', 'augmix=false']).augmix).toBe(false);
    expect(loadConfig(undefined, ['dataset="imagenet-r"', 'dataset_path="/d"']).augmix).toBe(false);
    expect(loadConfig(undefined, ['augmix=true']).augmix).toBe(true);
    expect(() => loadConfig(undefined, ['split_file="/s.json"'])).toThrow(/split_file: ImageNet-A is listed by its class folders/);
  });
});

describe('a CoOp split-file set (DTD) in both layouts', () => {
  const expectedFiles = DTD_ENTRIES.map(([file]) => file);
  const expectedTargets = DTD_ENTRIES.map(([, label]) => label);

  it("CoOp's layout: the split file beside images/, samples in the split's order, labels from its integers", async () => {
    const { root } = await writeDtdTree('coop');
    const dataset = await openDataset(root, { dataset: 'dtd', allowPartial: true });
    expect(dataset.samples.map((s) => s.file)).toEqual(expectedFiles);
    expect(dataset.samples.map((s) => s.target)).toEqual(expectedTargets);
    expect(dataset.imageRoot).toBe(join(root, 'images'));
    expect(dataset.splitFile).toBe(join(root, 'split_zhou_DescribableTextures.json'));
    expect(dataset.spec).toMatchObject({ name: 'dtd', title: 'DTD', column: 'DTD', augmix: true, benchmark: 'cross-dataset' });
    const present = dataset.classes.filter((c) => c.present);
    expect(present.map((c) => [c.label, c.name, c.images])).toEqual([[0, 'banded', 2], [10, 'dotted', 2], [46, 'zigzagged', 2]]);
    expect(dataset.classes).toHaveLength(47);
    expect(dataset.complete).toBe(false);
  });

  it("TPT's layout: the image folder itself, split_file elsewhere; the same samples and labels", async () => {
    const { root, splitFile } = await writeDtdTree('tpt');
    const dataset = await openDataset(root, { dataset: 'dtd', allowPartial: true, splitFile });
    expect(dataset.imageRoot).toBe(root);
    expect(dataset.samples.map((s) => [s.file, s.target])).toEqual(expectedFiles.map((f, i) => [f, expectedTargets[i]]));
    // without split_file it is looked for in the dataset folder, and missing there: one line and a hint
    const e = await tptError(openDataset(root, { dataset: 'dtd', allowPartial: true }), 'DATASET_SPLIT_NOT_FOUND', /no split_file is set.*split_zhou_DescribableTextures\.json/);
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.hint).toMatch(/set split_file/);
  });

  it('refuses a partial split without allow_partial_dataset, naming the missing classes', async () => {
    const { root } = await writeDtdTree('coop');
    const e = await tptError(openDataset(root, { dataset: 'dtd' }), 'DATASET_NOT_USABLE', /3 of 47 classes have images[\s\S]*class 1 \(blotchy\) has no sample in the split/);
    expect(e.hint).toMatch(/allow_partial_dataset/);
  });

  it("refuses another set's split file, a label outside the class list and a file that is not a split", async () => {
    const { root, splitFile } = await writeDtdTree('tpt');
    const owner = await tptError(openDataset(root, { dataset: 'flowers102', splitFile }), 'DATASET_SPLIT_FOREIGN', /that file name is DTD's \(dataset: dtd\)/);
    expect(owner.hint).toMatch(/split_zhou_OxfordFlowers\.json/);
    const outside = join(root, 'labels.json');
    writeFileSync(outside, JSON.stringify({ test: [['banded/banded_0002.jpg', 47, 'banded']] }));
    await tptError(openDataset(root, { dataset: 'dtd', splitFile: outside }), 'DATASET_SPLIT_FOREIGN', /label 47, outside DTD's 47 classes/);
    const notSplit = join(root, 'other.json');
    writeFileSync(notSplit, JSON.stringify([1, 2]));
    await tptError(openDataset(root, { dataset: 'dtd', splitFile: notSplit }), 'DATASET_SPLIT_FOREIGN', /no "test" list/);
    writeFileSync(notSplit, JSON.stringify({ test: [['a.jpg', 'banded']] }));
    await tptError(openDataset(root, { dataset: 'dtd', splitFile: notSplit }), 'DATASET_SPLIT_FOREIGN', /not \[relative path, integer label, class name\]/);
  });

  it('reports a split entry whose image is missing (skipped with allow_partial_dataset) and an empty split', async () => {
    const { root } = await writeDtdTree('coop');
    rmSync(join(root, 'images', 'dotted', 'dotted_0111.jpg'));
    const partial = await openDataset(root, { dataset: 'dtd', allowPartial: true });
    expect(partial.samples.map((s) => s.file)).toEqual(expectedFiles.filter((f) => f !== 'dotted/dotted_0111.jpg'));
    expect(partial.problems.filter((p) => p.kind === 'missing_image').map((p) => [p.severity, p.path])).toEqual([['warning', 'dotted/dotted_0111.jpg']]);
    const strict = await scanDataset(root, { dataset: 'dtd' });
    expect(strict.problems.filter((p) => p.kind === 'missing_image').map((p) => p.severity)).toEqual(['error']);

    writeFileSync(join(root, 'split_zhou_DescribableTextures.json'), JSON.stringify({ train: [], val: [], test: [] }));
    await tptError(openDataset(root, { dataset: 'dtd', allowPartial: true }), 'DATASET_NOT_USABLE', /lists no samples/);
  });

  it('`tpt dataset verify` counts the split and compares with the published size', async () => {
    const { root, splitFile } = await writeDtdTree('tpt');
    const report = await verifyDataset(root, { dataset: 'dtd', splitFile, allowPartial: true, decode: 'full' });
    expect(report).toMatchObject({ usable: true, totalImages: 6, undecodableImages: 0, classesPresent: 3, classesTotal: 47, expectedImages: 1692, splitFile });
    const text = formatVerifyReport(report);
    expect(text).toContain(`split file: ${splitFile}`);
    expect(text).toContain('label  images  class');
    expect(text).toMatch(/ +0 +2  banded/);
    expect(text).toContain('6 images in 3 of 47 classes of the split');
    const missing = await verifyDataset(root, { dataset: 'dtd', decode: 'none' });
    expect(missing.usable).toBe(false);
    expect(missing.problems.map((p) => p.kind)).toEqual(['split_not_found']);
  });
});

describe("FGVC-Aircraft's text files", () => {
  it('labels each image by its variant in variants.txt; images are images/<id>.jpg', async () => {
    const root = await writeAircraftTree();
    const dataset = await openDataset(root, { dataset: 'fgvc-aircraft', allowPartial: true });
    expect(dataset.imageRoot).toBe(join(root, 'images'));
    expect(dataset.splitFile).toBe(join(root, 'images_variant_test.txt'));
    expect(dataset.samples.map((s) => [s.file, s.target])).toEqual([
      ['1514522.jpg', 0],
      ['0065006.jpg', 41],
      ['1048211.jpg', 73],
      ['0453218.jpg', 25],
      ['2193417.jpg', 41],
    ]);
    const names = getDataset('fgvc-aircraft').classes;
    expect([0, 41, 73, 25].map((l) => names[l]?.name)).toEqual(['707-320', 'Boeing 717', 'F/A-18', 'A320']);
    expect(dataset.classes.filter((c) => c.present).map((c) => [c.name, c.images])).toEqual([['707-320', 1], ['A320', 1], ['Boeing 717', 2], ['F/A-18', 1]]);
  });

  it('refuses a variant that variants.txt does not list, and a variants.txt of another size', async () => {
    const root = await writeAircraftTree([...AIRCRAFT_LINES, '0000001 Concorde']);
    await tptError(openDataset(root, { dataset: 'fgvc-aircraft', allowPartial: true }), 'DATASET_SPLIT_FOREIGN', /line 6 "0000001 Concorde"/);
    writeFileSync(join(root, 'variants.txt'), 'A320\nA321\n');
    await tptError(openDataset(root, { dataset: 'fgvc-aircraft', allowPartial: true }), 'DATASET_SPLIT_FOREIGN', /lists 2 variants, FGVC-Aircraft has 100/);
  });
});

describe('`tpt dataset extract` for the cross-dataset archives', () => {
  it("finds FGVC-Aircraft's data/ two levels down in fgvc-aircraft-2013b.tar.gz, and verifies it", async () => {
    const data = await writeAircraftTree();
    const top = join(data, '..', '..');
    const archive = join(top, 'fgvc-aircraft-2013b.tar.gz');
    await tar.c({ file: archive, gzip: true, cwd: top }, ['fgvc-aircraft-2013b']);
    const out = join(top, 'out');
    const result = await extractDatasetArchive(archive, out, { dataset: 'fgvc-aircraft' });
    expect(result.datasetRoot).toBe(join(out, 'fgvc-aircraft-2013b', 'data'));
    const report = await verifyDataset(result.datasetRoot, { dataset: 'fgvc-aircraft', allowPartial: true, decode: 'header' });
    expect(report).toMatchObject({ usable: true, totalImages: 5, expectedImages: 3333, classesTotal: 100 });
  });

  it("finds CoOp's dataset folder by its image folder (DTD's tar, EuroSAT's zip), and refuses an archive of another set", async () => {
    const { root } = await writeDtdTree('coop');
    const archive = join(root, '..', 'dtd-r1.0.1.tar');
    await tar.c({ file: archive, cwd: join(root, '..') }, ['dtd']);
    const result = await extractDatasetArchive(archive, join(root, '..', 'out'), { dataset: 'dtd' });
    expect(result.datasetRoot).toBe(join(root, '..', 'out', 'dtd'));
    expect((await openDataset(result.datasetRoot, { dataset: 'dtd', allowPartial: true })).samples).toHaveLength(6);
    const foreign = await extractDatasetArchive(archive, join(root, '..', 'out2'), { dataset: 'eurosat' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((foreign as TptError).code).toBe('ARCHIVE_NOT_THIS_SET');
    expect((foreign as TptError).message).toMatch(/no EuroSAT folder \(one holding 2750\)/);

    const work = await tempDir('eurosat-zip');
    const jpeg = await tinyImage('jpeg');
    await writeFile(join(work, 'EuroSAT.zip'), storedZip({ '2750/Forest/Forest_1.jpg': jpeg, '2750/River/River_7.jpg': jpeg }));
    const eurosat = await extractDatasetArchive(join(work, 'EuroSAT.zip'), join(work, 'eurosat'), { dataset: 'eurosat' });
    expect(eurosat.datasetRoot).toBe(join(work, 'eurosat'));
    await writeFile(
      join(eurosat.datasetRoot, 'split_zhou_EuroSAT.json'),
      JSON.stringify({ test: [['Forest/Forest_1.jpg', 1, 'Forest'], ['River/River_7.jpg', 8, 'River']] }),
    );
    const ds = await openDataset(eurosat.datasetRoot, { dataset: 'eurosat', allowPartial: true });
    expect(ds.samples.map((s) => [s.file, s.target, getDataset('eurosat').classes[s.target]?.name])).toEqual([
      ['Forest/Forest_1.jpg', 1, 'Forest'],
      ['River/River_7.jpg', 8, 'River'],
    ]);
  });
});

describe('`tpt preview` of a split-file set', () => {
  it("names an image by its split path, as a run does, in CoOp's layout", async () => {
    const { root } = await writeDtdTree('coop');
    const config = join(root, '..', 'preview.json');
    writeFileSync(config, JSON.stringify({ dataset: 'dtd', dataset_path: root, n_aug: 1, image_size: 32 }));
    const result = await previewViews({ configPath: config, imagePath: join(root, 'images', 'banded', 'banded_0002.jpg') });
    expect(result.identity).toBe('banded/banded_0002.jpg');
  });
});
