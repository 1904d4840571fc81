import { readFileSync } from 'node:fs';

/** A float32 or int32 little-endian, C-order .npy file, as the fixture scripts write them. */
export interface NpyArray {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Reads the .npy v1/v2 layout: magic, version, header length, a Python-dict header, then raw data. */
export function readNpy(path: string): NpyArray {
  const bytes = readFileSync(path);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (fortran) throw new Error(`${path}: Fortran order is not supported`);
  const offset = headerStart + headerLength;
  const count = shape.reduce((a, b) => a * b, 1);
  const buffer = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 4);
  if (descr === '<f4') return { shape, data: new Float32Array(buffer) };
  if (descr === '<i4') return { shape, data: new Int32Array(buffer) };
  throw new Error(`${path}: dtype ${descr} is not float32/int32 little endian`);
}
