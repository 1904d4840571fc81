/**
 * Decoding images into 8-bit RGB the way the seed's loader does: `Image.open(path).convert('RGB')` in PIL.
 *
 * sharp (libvips) is used only to decode, and is told to behave like PIL:
 * - no EXIF auto-rotation (PIL does not rotate on open) and no resize, so no JPEG shrink-on-load;
 * - the embedded ICC profile is ignored (`ignoreIcc`), since PIL's convert('RGB') leaves pixel values as stored;
 * - alpha is dropped without compositing on a background, as convert('RGB') does;
 * - palette images are expanded, greyscale replicated to three channels;
 * - 16-bit colour samples keep their high byte (libvips' cast, and PIL's 16-bit RGB raw modes), while
 *   16-bit greyscale is clipped to 255, as PIL's mode I → RGB conversion does;
 * - CMYK is converted with PIL's own formula (R = 255 − C − K + C·K/255 in its integer form) instead of
 *   through an ICC transform.
 * Baseline JPEGs decode with libjpeg-turbo's default (islow IDCT, fancy upsampling) on both sides, which makes
 * the decoded pixels identical for the usual files.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import sharp from 'sharp';
import { TptError } from '../errors.js';

/** An 8-bit RGB image, row-major, channels interleaved (HWC). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

function describe(source: string | Buffer): string {
  return typeof source === 'string' ? source : `<${source.length}-byte buffer>`;
}

/** PIL's cmyk2rgb (Convert.c): nk = 255 − K; out = clip(nk − MULDIV255(C, nk)). */
function cmykToRgbLikePil(cmyk: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const nk = 255 - (cmyk[i * 4 + 3] as number);
    for (let c = 0; c < 3; c++) {
      const tmp = (cmyk[i * 4 + c] as number) * nk + 128;
      const v = nk - (((tmp >> 8) + tmp) >> 8);
      out[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

export async function decodeImage(source: string | Buffer): Promise<RgbImage> {
  let input: Buffer;
  try {
    input = typeof source === 'string' ? await readFile(source) : source;
  } catch (e) {
    throw new TptError('IMAGE_DECODE', `Cannot read image ${describe(source)}: ${(e as Error).message}`, {
      hint: 'Check that the file exists and is readable.',
      cause: e,
    });
  }
  try {
    const options = { ignoreIcc: true, failOn: 'error', limitInputPixels: 1 << 28 } as const;
    const meta = await sharp(input, options).metadata();
    if (meta.space === 'cmyk') {
      // Keep the stored CMYK (libvips undoes Adobe's inversion) and convert as PIL does.
      const { data, info } = await sharp(input, options)
        .pipelineColourspace('cmyk')
        .toColourspace('cmyk')
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new Error(`CMYK decode gave ${info.channels} channels`);
      return { width: info.width, height: info.height, data: cmykToRgbLikePil(data, info.width * info.height) };
    }
    if (meta.channels === 1 && meta.depth === 'ushort') {
      // PIL opens 16-bit greyscale as mode I/I;16 and convert('RGB') clips each value to 255 (no scaling).
      const { data, info } = await sharp(input, options)
        .toColourspace('grey16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 1) throw new Error(`16-bit greyscale decode gave ${info.channels} channels`);
      const samples = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
      const rgb = new Uint8Array(samples.length * 3);
      samples.forEach((v, i) => rgb.fill(v > 255 ? 255 : v, i * 3, i * 3 + 3));
      return { width: info.width, height: info.height, data: rgb };
    }
    const { data, info } = await sharp(input, options)
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decode gave ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    const name = typeof source === 'string' ? basename(source) : describe(source);
    throw new TptError('IMAGE_DECODE', `Cannot decode image ${typeof source === 'string' ? source : name}: ${(e as Error).message}`, {
      hint: 'The file is damaged or not an image format sharp can read (JPEG, PNG, WebP, TIFF, GIF, ...); remove or replace it.',
      cause: e,
    });
  }
}

/** Lossless PNG of an RGB image. */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .png()
    .toBuffer();
}
