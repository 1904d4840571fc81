import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset, scanDataset } from '../../src/data/dataset.js';
import { TptError } from '../../src/errors.js';
import { IMAGENET_A_CLASSES } from '../../src/data/datasets/imagenet-a.js';
import { IMAGENET_1K_WNIDS } from '../../src/data/datasets/imagenet-1k-data.js';
import { makeFixtureDataset, tempDir, tinyImage, writeFiles } from './fixture-dataset.js';

let root: string;
const cleanup: string[] = [];
beforeAll(async () => {
  root = await makeFixtureDataset();
  cleanup.push(root);
});
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

async function expectTptError(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<TptError> {
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

describe('openDataset / scanDataset', () => {
  // The expected order was checked once against torchvision 0.14's make_dataset on this very fixture; its
  // targets there were 0, 1, 2 (folder positions), ours are the 200-class labels.
  it('lists samples in torchvision ImageFolder order with labels from the 200-class list', async () => {
    const ds = await openDataset(root, { allowPartial: true });
    expect(ds.samples.map((s) => s.file)).toEqual([
      'n01498041/C.JPEG',
      'n01498041/a.jpg',
      'n01498041/b.png',
      'n01498041/sub/d.png',
      'n01498041/sub-x/e.webp',
      'n01498041/sub/deep/f.png',
      'n01531178/0001.jpeg',
      'n01531178/0002.png',
      'n01531178/broken.jpg', // listing does not decode; verify reports it
      'n12267677/x.tif',
    ]);
    expect(ds.samples.map((s) => s.target)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 199]);
    for (const s of ds.samples) expect(IMAGENET_A_CLASSES[s.target]?.wnid).toBe(s.wnid);
    expect(ds.complete).toBe(false);
    expect(ds.classes).toHaveLength(200);
    expect(ds.classes[0]).toMatchObject({ wnid: 'n01498041', images: 6, present: true });
    expect(ds.classes[2]).toMatchObject({ wnid: 'n01534433', images: 0, present: true });
    expect(ds.classes[3]).toMatchObject({ wnid: 'n01558993', images: 0, present: false });
  });

  it('reports unknown folders, wrong extensions, stray images, empty and missing classes', async () => {
    const ds = await scanDataset(root, { allowPartial: true });
    const byKind = (kind: string) => ds.problems.filter((p) => p.kind === kind).map((p) => p.path);
    expect(byKind('unknown_folder')).toEqual(['extras']);
    expect(byKind('wrong_extension')).toEqual(['n01498041/notes.txt']);
    expect(byKind('top_level_file')).toEqual(['stray.jpg']); // README.txt is not a problem
    expect(byKind('empty_class')).toEqual(['n01534433']);
    expect(byKind('missing_class')).toHaveLength(196);
    expect(ds.problems.every((p) => p.severity === 'warning')).toBe(true);
  });

  it('refuses a partial folder unless allowPartial, naming missing and empty classes by wnid and name', async () => {
    const e = await expectTptError(openDataset(root), 'DATASET_NOT_USABLE', /n01558993.*American robin/);
    expect(e.message).toMatch(/n01534433.*junco.*no image files/);
    expect(e.message).toMatch(/and \d+ more like it/);
    expect(e.hint).toMatch(/allow_partial_dataset/);
  });

  it('refuses folders that are not ImageNet-A at all, with a hint', async () => {
    const flat = await tempDir('flat');
    const imagenet1k = await tempDir('in1k');
    const parent = await tempDir('parent');
    const nothing = await tempDir('nothing');
    cleanup.push(flat, imagenet1k, parent, nothing);
    await writeFiles(flat, { 'a.jpg': await tinyImage('jpeg'), 'b.png': await tinyImage('png') });
    // ImageNet-1k's 1000 folders: ImageNet-A's 200 are among them, the other 800 outnumber them.
    for (const wnid of IMAGENET_1K_WNIDS) await mkdir(join(imagenet1k, wnid));
    await symlink(root, join(parent, 'imagenet-a'));
    await writeFiles(nothing, { 'docs/readme.md': 'hello' });

    await expectTptError(openDataset(flat), 'DATASET_NOT_THIS_SET', /image file\(s\) directly/);
    await expectTptError(openDataset(imagenet1k, { allowPartial: true }), 'DATASET_NOT_THIS_SET', /class folders are those of dataset: imagenet-sketch or dataset: imagenet\./);
    const e = await expectTptError(openDataset(parent), 'DATASET_NOT_THIS_SET', /imagenet-a does/);
    expect(e.hint).toContain(join(parent, 'imagenet-a'));
    const n = await expectTptError(openDataset(nothing), 'DATASET_NOT_THIS_SET', /no WordNet-id class folders/);
    expect(n.hint).toMatch(/tpt dataset extract/);
    await expectTptError(openDataset(join(nothing, 'missing')), 'DATASET_NOT_FOUND', /cannot read/);
  });

  it('refuses a folder with WordNet ids outside ImageNet-A even when partial is allowed', async () => {
    const mixed = await tempDir('mixed');
    cleanup.push(mixed);
    await writeFiles(mixed, { 'n01498041/a.png': await tinyImage('png'), 'n01440764/t.png': await tinyImage('png') });
    await expectTptError(openDataset(mixed, { allowPartial: true }), 'DATASET_NOT_USABLE', /n01440764.*outside ImageNet-A/);
  });

  it('accepts a complete folder without allowPartial', async () => {
    const full = await tempDir('full');
    cleanup.push(full);
    const png = await tinyImage('png');
    await writeFiles(full, Object.fromEntries(IMAGENET_A_CLASSES.map((c) => [`${c.wnid}/0.png`, png])));
    const ds = await openDataset(full);
    expect(ds.complete).toBe(true);
    expect(ds.samples.map((s) => s.target)).toEqual(IMAGENET_A_CLASSES.map((c) => c.label));
    expect(ds.problems).toEqual([]);
  });
});
