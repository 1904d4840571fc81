import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/data/image.js';
import { centerCrop, crop, hflip, resizedShorterSide, resizeShorterSide, roundHalfEven } from '../../src/data/transforms.js';

function numbered(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.fill(p + 1, p * 3, p * 3 + 3);
  return { width, height, data };
}

function firstChannel(img: RgbImage): number[][] {
  return Array.from({ length: img.height }, (_, y) => Array.from({ length: img.width }, (_, x) => img.data[(y * img.width + x) * 3] as number));
}

describe('torchvision geometry', () => {
  it('rounds half to even like Python', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 3.2, 3.7].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 3, 4]);
  });

  it('Resize(S) output size: shorter side S, longer int(S·long/short)', () => {
    expect(resizedShorterSide(600, 400, 224)).toEqual([336, 224]);
    expect(resizedShorterSide(300, 450, 224)).toEqual([224, 336]);
    expect(resizedShorterSide(333, 500, 224)).toEqual([224, 336]); // 336.33… truncated
    expect(resizedShorterSide(120, 90, 224)).toEqual([298, 224]); // 298.67 truncated, not rounded
    const already = numbered(224, 300);
    expect(resizeShorterSide(already, 224)).toBe(already); // torchvision returns the image untouched
  });

  it('CenterCrop offsets use int(round((H − S)/2)) with half to even', () => {
    // (227 − 224)/2 = 1.5 → 2; (225 − 224)/2 = 0.5 → 0
    const tall = numbered(224, 227);
    expect(centerCrop(tall, 224).data[0]).toBe((2 * 224 + 1) & 0xff);
    const taller = numbered(224, 225);
    expect(centerCrop(taller, 224).data[0]).toBe(1);
  });

  it('CenterCrop pads with zeros like torchvision when the image is smaller', () => {
    // 3×2 → 4×4: pad left (4−3)//2 = 0, right 1, top (4−2)//2 = 1, bottom 1
    expect(firstChannel(centerCrop(numbered(3, 2), 4))).toEqual([
      [0, 0, 0, 0],
      [1, 2, 3, 0],
      [4, 5, 6, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('crop outside the image is black (PIL crop), hflip mirrors columns', () => {
    expect(firstChannel(crop(numbered(2, 2), -1, 1, 3, 2))).toEqual([
      [0, 0],
      [2, 0],
      [4, 0],
    ]);
    expect(firstChannel(hflip(numbered(3, 1)))).toEqual([[3, 2, 1]]);
  });
});
