import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { drawGrid, gridLayout, unnormalizeView } from '../../src/data/grid.js';
import { decodeImage, encodePng } from '../../src/data/image.js';
import { decodeNpy, encodeNpy, readNpy, writeNpy } from '../../src/data/npy.js';
import { normalize } from '../../src/data/transforms.js';
import { fixturePath, loadGoldens, loadU8 } from './golden-helpers.js';

const goldens = loadGoldens();

describe('decodeImage matches PIL Image.open(...).convert("RGB")', () => {
  const cases = goldens.cases.filter((c: any) => c.kind === 'decode_format');
  it.each(cases.map((c: any) => [c.image, c]))('%s', async (_name: string, c: any) => {
    const ours = await decodeImage(fixturePath(c.image));
    const golden = loadU8(c.out);
    expect([ours.height, ours.width, 3]).toEqual(golden.shape);
    expect(Buffer.compare(Buffer.from(ours.data), Buffer.from(golden.data))).toBe(0);
  });

  it('decodes from a buffer too, and names the file it cannot decode', async () => {
    const bytes = readFileSync(fixturePath('small.jpg'));
    const fromBuffer = await decodeImage(bytes);
    expect(fromBuffer.width).toBe(120);
    await expect(decodeImage(Buffer.from('definitely not an image'))).rejects.toMatchObject({ code: 'IMAGE_DECODE' });
    await expect(decodeImage('/nonexistent/dir/x.jpg')).rejects.toMatchObject({ code: 'IMAGE_DECODE', message: expect.stringContaining('x.jpg') });
    const truncated = bytes.subarray(0, Math.floor(bytes.length / 2));
    await expect(decodeImage(truncated)).rejects.toMatchObject({ code: 'IMAGE_DECODE' });
  });

  it('encodePng round-trips losslessly', async () => {
    const img = await decodeImage(fixturePath('small.jpg'));
    const back = await decodeImage(await encodePng(img));
    expect(Buffer.compare(Buffer.from(back.data), Buffer.from(img.data))).toBe(0);
  });
});

describe('npy', () => {
  it('round-trips float32 and uint8 arrays through files (format v1.0, 64-byte aligned header)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpt-npy-'));
    const f = new Float32Array([0, -1.5, 3.25, Number.MAX_VALUE, 1e-30, NaN]);
    await writeNpy(join(dir, 'a.npy'), { dtype: 'float32', shape: [2, 3], data: f });
    const bytes = readFileSync(join(dir, 'a.npy'));
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
    expect((10 + bytes.readUInt16LE(8)) % 64).toBe(0);
    expect(bytes.toString('latin1', 10, 10 + bytes.readUInt16LE(8))).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    const back = await readNpy(join(dir, 'a.npy'));
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(f));
    const u = decodeNpy(encodeNpy({ dtype: 'uint8', shape: [4], data: new Uint8Array([1, 2, 3, 255]) }));
    expect(u).toEqual({ dtype: 'uint8', shape: [4], data: new Uint8Array([1, 2, 3, 255]) });
    expect(() => decodeNpy(Buffer.from('nope'))).toThrow(/npy/);
  });

  it('reads numpy-written files (the committed goldens)', () => {
    const arr = loadU8('view0-small-96.npy');
    expect(arr.shape).toEqual([96, 96, 3]);
  });
});

describe('grid (show_imgs layout)', () => {
  it('puts view 0 alone on the top row and the rest in rows', () => {
    const layout = gridLayout(6, 10, 4);
    expect(layout.positions[0]).toEqual({ x: 8, y: 8 });
    expect(layout.positions[1]).toEqual({ x: 8, y: 26 });
    expect(layout.positions[4]).toEqual({ x: 8 + 3 * 18, y: 26 });
    expect(layout.positions[5]).toEqual({ x: 8, y: 44 });
    expect([layout.width, layout.height]).toEqual([8 + 4 * 18, 8 + 3 * 18]);
  });

  it('un-normalises views back to the original bytes (up to the seed\'s truncation)', async () => {
    const img = await decodeImage(fixturePath('small.jpg'));
    const square = { width: 90, height: 90, data: img.data.slice(0, 90 * 90 * 3) };
    const back = unnormalizeView(normalize(square), 0, 90);
    let maxDiff = 0;
    for (let i = 0; i < back.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs((back.data[i] as number) - (square.data[i] as number)));
    expect(maxDiff).toBeLessThanOrEqual(1);
    const grid = drawGrid([back, back, back], 2);
    const png = await sharp(Buffer.from(grid.data), { raw: { width: grid.width, height: grid.height, channels: 3 } }).png().toBuffer();
    expect((await sharp(png).metadata()).width).toBe(8 + 2 * 98);
  });
});
