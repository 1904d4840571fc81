/**
 * A minimal synchronous PNG encoder (8-bit RGB, no filtering, zlib via node:zlib).
 * Why not sharp: sharp encodes asynchronously, and event records must be written in the order the seed writes
 * them from a synchronous `MetricsTracker.update`; a PNG is just deflated scanlines, so encoding it here keeps
 * the tracker synchronous. TensorBoard only needs a valid PNG (torch writes it with PIL; the bytes differ,
 * the pixels do not).
 */
import { deflateSync } from 'node:zlib';
import crc32 from 'crc-32';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32.buf(out.subarray(4, 8 + body.length)) >>> 0, 8 + body.length);
  return out;
}

export function encodePngRgb(image: RgbImage): Buffer {
  const { width, height, data } = image;
  if (!(width > 0 && height > 0) || data.length !== width * height * 3) {
    throw new Error(`encodePngRgb: ${data.length} bytes do not make a ${width}x${height} RGB image`);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour RGB
  // compression 0, filter method 0, interlace 0: left as zero bytes
  const rowBytes = width * 3;
  const scanlines = Buffer.alloc(height * (rowBytes + 1)); // each row: filter byte 0 (None) then the pixels
  for (let y = 0; y < height; y++) {
    scanlines.set(data.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(scanlines)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
