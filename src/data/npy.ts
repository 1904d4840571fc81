/**
 * NumPy `.npy` files, format version 1.0: magic "\x93NUMPY", version 1.0, a little-endian uint16 header length,
 * an ASCII dict header ({'descr', 'fortran_order', 'shape'}) padded with spaces to a multiple of 64 bytes
 * (counting magic, version and length) and ended by '\n', then the raw C-order data.
 * Written: float32 ('<f4') and uint8 ('|u1'). Read: those two, C order only.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { TptError } from '../errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export type NpyArray =
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'uint8'; shape: number[]; data: Uint8Array };

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function encodeNpy(array: NpyArray): Buffer {
  const { shape, data } = array;
  if (product(shape) !== data.length) {
    throw new RangeError(`npy: shape [${shape.join(', ')}] does not match ${data.length} values`);
  }
  const descr = array.dtype === 'float32' ? '<f4' : '|u1';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(MAGIC.length + 4);
  prefix.set(MAGIC, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  // Float32Array bytes are platform-endian; every platform Node supports is little-endian.
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]);
}

export function decodeNpy(bytes: Uint8Array, name = '<buffer>'): NpyArray {
  const fail = (why: string): never => {
    throw new TptError('NPY_FORMAT', `${name} is not a supported .npy file: ${why}`, {
      hint: 'Expected a NumPy .npy array (float32 or uint8, C order) as written by numpy.save.',
    });
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('bad magic');
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`version ${major}`);
  }
  const header = Buffer.from(bytes.subarray(headerStart, headerStart + headerLength)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return fail('unreadable header');
  if (fortran === 'True') fail('Fortran order');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = product(shape);
  const start = headerStart + headerLength;
  if (descr === '<f4') {
    if (bytes.length - start < count * 4) fail('truncated data');
    const copy = new Uint8Array(bytes.subarray(start, start + count * 4)); // aligned copy
    return { dtype: 'float32', shape, data: new Float32Array(copy.buffer) };
  }
  if (descr === '|u1' || descr === '<u1') {
    if (bytes.length - start < count) fail('truncated data');
    return { dtype: 'uint8', shape, data: new Uint8Array(bytes.subarray(start, start + count)) };
  }
  return fail(`dtype ${descr}`);
}

export async function writeNpy(path: string, array: NpyArray): Promise<void> {
  await writeFile(path, encodeNpy(array));
}

export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await readFile(path), path);
}
