import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatVerifyReport, verifyDataset } from '../../src/data/dataset-verify.js';
import { Command } from 'commander';
import { registerDataset } from '../../src/cli/dataset.js';
import { isTptError } from '../../src/errors.js';
import { makeFixtureDataset, tempDir } from './fixture-dataset.js';

let root: string;
beforeAll(async () => {
  root = await makeFixtureDataset();
  // A real JPEG cut in half: its header reads fine, its pixels do not.
  const noise = Buffer.alloc(64 * 64 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const jpeg = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  await writeFile(join(root, 'n12267677', 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const undecodable = (problems: readonly { kind: string; path: string }[]) =>
  problems.filter((p) => p.kind === 'undecodable_image').map((p) => p.path);

describe('verifyDataset', () => {
  it('counts images per class and finds undecodable images with a full decode', async () => {
    const report = await verifyDataset(root, { allowPartial: true, decode: 'full' });
    expect(report.usable).toBe(true);
    expect(report.totalImages).toBe(11);
    expect(report.classesPresent).toBe(4);
    expect(report.classes.find((c) => c.wnid === 'n01498041')?.images).toBe(6);
    expect(undecodable(report.problems)).toEqual(['n01531178/broken.jpg', 'n12267677/truncated.jpg']);
    expect(report.undecodableImages).toBe(2);
    const text = formatVerifyReport(report);
    expect(text).toMatch(/0  n01498041       6  stingray/);
    // a partial folder lists its present classes only, and counts the others
    expect(text).not.toMatch(/n01558993       -  American robin/);
    expect(text).toContain('(196 class folders not present are not listed)');
    expect(text).toMatch(/11 images in 4 of 200 class folders; 2 cannot be decoded/);
    expect(text).toMatch(/Usable \(partial/);
  });

  it('reads only headers in header mode and nothing in none mode', async () => {
    const header = await verifyDataset(root, { allowPartial: true, decode: 'header' });
    expect(undecodable(header.problems)).toEqual(['n01531178/broken.jpg']);
    const none = await verifyDataset(root, { allowPartial: true, decode: 'none' });
    expect(undecodable(none.problems)).toEqual([]);
  });

  it('is not usable when classes are missing and partial is not allowed, or when the folder is foreign', async () => {
    const strict = await verifyDataset(root, { decode: 'none' });
    expect(strict.usable).toBe(false);
    expect(strict.problems.filter((p) => p.severity === 'error').length).toBe(197); // 196 missing + 1 empty
    const text = formatVerifyReport(strict);
    expect(text).toMatch(/NOT usable: .* or pass --allow-partial\./);
    // a summary, not hundreds of lines: the first 5 missing classes, the count of the rest, the empty one
    expect(text.split('\n').length).toBeLessThan(40);
    expect(text).toContain('  … and 191 more of this kind (missing_class; --json lists every one)');
    expect(text.split('\n').filter((l) => l.startsWith('  - ') && l.endsWith(' is missing')).length).toBe(5);
    const empty = await tempDir('empty');
    const foreign = await verifyDataset(empty, { decode: 'none' });
    await rm(empty, { recursive: true });
    expect(foreign.usable).toBe(false);
    expect(foreign.problems[0]?.kind).toBe('not_imagenet_a');
  });
});

describe('images too small for the patch grid', () => {
  it('a 1×1 image decodes but is reported (a PatchAugmenter run skips it), in header and full mode', async () => {
    const dir = await makeFixtureDataset();
    const dot = await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer();
    await writeFile(join(dir, 'n01498041', 'dot.png'), dot);
    for (const decode of ['header', 'full'] as const) {
      const report = await verifyDataset(dir, { allowPartial: true, decode });
      const small = report.problems.filter((p) => p.kind === 'small_image');
      expect(small.map((p) => [p.path, p.severity])).toEqual([['n01498041/dot.png', 'warning']]);
      expect(small[0]!.message).toBe(
        'n01498041/dot.png is 1×1 pixels, too small for a 4×4 patch grid (n_patches 16); a PatchAugmenter run skips it and counts it',
      );
      expect(report.usable).toBe(true);
    }
    // the fixture's 6×4 images fit a 4×4 grid, not an 8×8 one
    const grid8 = await verifyDataset(dir, { allowPartial: true, decode: 'header', nPatches: 64 });
    expect(grid8.problems.filter((p) => p.kind === 'small_image').length).toBe(10);
    expect(formatVerifyReport(grid8)).toContain('… and 5 more of this kind (small_image; --json lists every one)');
    await rm(dir, { recursive: true, force: true });
  });
});

describe('tpt dataset verify (exit codes)', () => {
  async function run(args: string[]): Promise<{ code: number; stdout: string }> {
    let stdout = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    // Only `tpt dataset` is registered (not the whole CLI, whose other commands are not under test here);
    // a TptError's exitCode is what src/cli/main.ts returns for it.
    const program = new Command('tpt').exitOverride();
    registerDataset(program);
    try {
      await program.parseAsync(['node', 'tpt', 'dataset', 'verify', ...args]);
      return { code: 0, stdout };
    } catch (e) {
      if (!isTptError(e)) throw e;
      return { code: e.exitCode, stdout };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  it('exits 0 for a usable folder and non-zero otherwise, printing JSON on request', async () => {
    const ok = await run([root, '--allow-partial', '--decode', 'none', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ usable: true, totalImages: 11 });
    const all = await run([root, '--decode', 'none', '--json']);
    expect(JSON.parse(all.stdout).problems).toHaveLength(200); // --json keeps every problem: 197 errors, 3 warnings
    const bad = await run([root, '--decode', 'none']);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/NOT usable/);
  });
});

describe('fixture sanity', () => {
  it('the truncated JPEG still has a readable header', async () => {
    const meta = await sharp(await readFile(join(root, 'n12267677', 'truncated.jpg'))).metadata();
    expect(meta.width).toBe(64);
  });
});
