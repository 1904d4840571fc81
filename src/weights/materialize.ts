import { TptError } from '../errors.js';
import { numel, type HostDtype, type HostTensor } from './host-tensor.js';
import type { TensorRef } from './torch-globals.js';

/**
 * Turns a strided view of raw little-endian storage bytes into a contiguous row-major HostTensor.
 * PyTorch saves whole storages, so a transposed or sliced tensor arrives as (offset, sizes, strides) over
 * shared bytes; everything downstream wants plain row-major arrays.
 */

let halfTable: Float32Array | undefined;

/** All 65,536 float16 bit patterns as float32: one table lookup per element keeps 100M-element files fast. */
function float16Table(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = table;
  return table;
}

export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  // copying bit patterns through integer arrays avoids float conversions in the hot loop
  const table = new Uint32Array(float16Table().buffer);
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return new Float32Array(out.buffer);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → float16 bits, round to nearest even; exact for values that came from float16. */
export function float32ToFloat16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 31) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && half & 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
    out[i] = sign | half;
  }
  return out;
}

type SourceArray = Uint16Array | Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Uint8Array | Int8Array;

function sourceView(dtype: HostDtype, bytes: Uint8Array, count: number): SourceArray {
  // storage buffers are allocated by the reader at offset 0, so every typed view is aligned
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, count);
    case 'float32':
      return new Float32Array(buffer, byteOffset, count);
    case 'float64':
      return new Float64Array(buffer, byteOffset, count);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, count);
    case 'int32':
      return new Int32Array(buffer, byteOffset, count);
    case 'int16':
      return new Int16Array(buffer, byteOffset, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, count);
    case 'int8':
      return new Int8Array(buffer, byteOffset, count);
  }
}

/** Source element indices of a strided view, in row-major order of the view. */
function stridedIndices(offset: number, shape: readonly number[], stride: readonly number[]): Int32Array | Float64Array {
  const n = numel(shape);
  const out = n < 2 ** 31 ? new Int32Array(n) : new Float64Array(n);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    out[i] = src;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

function isRowMajor(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

/**
 * Reads `ref` out of its storage bytes. `bytes` must start at an 8-byte-aligned offset of its buffer.
 * `source` names the file in errors.
 */
export function materializeTensor(ref: TensorRef, bytes: Uint8Array, source: string): HostTensor {
  const { dtype, itemSize } = ref.storage.type;
  const available = Math.floor(bytes.length / itemSize);
  const n = numel(ref.shape);
  const corrupt = (why: string): never => {
    throw new TptError('WEIGHTS_CORRUPT', `${source}: storage ${ref.storage.key} ${why}`, {
      hint: 'The checkpoint is damaged (or truncated); re-download or re-save it.',
    });
  };
  if (ref.shape.some((s) => s < 0) || ref.offset < 0) corrupt('has a negative size or offset');
  // a broadcast view (stride 0) can claim far more elements than its storage holds; cap what we allocate
  if (n > 2 ** 31 - 1) corrupt(`is viewed as a tensor of ${n} elements, more than tpt reads`);
  if (n > 0) {
    let last = ref.offset;
    let first = ref.offset;
    ref.shape.forEach((s, d) => {
      const step = ref.stride[d]! * (s - 1);
      if (step > 0) last += step;
      else first += step;
    });
    if (first < 0 || last >= available) {
      corrupt(`holds ${available} elements but a ${dtype} tensor [${ref.shape.join(', ')}] reads element ${last}`);
    }
  }
  const src = sourceView(dtype, bytes, available);
  const contiguous = isRowMajor(ref.shape, ref.stride);
  // a contiguous view is one subarray (copied by the typed-array constructors below, so the storage can be
  // freed); anything else gathers through an index list
  const pick = <T extends SourceArray>(a: T): T => {
    if (contiguous) return a.subarray(ref.offset, ref.offset + n) as T;
    const indices = stridedIndices(ref.offset, ref.shape, ref.stride);
    const out = new (a.constructor as new (len: number) => T)(n);
    for (let i = 0; i < n; i++) out[i] = a[indices[i]!]!;
    return out;
  };
  const shape = [...ref.shape];
  switch (dtype) {
    case 'float16':
      return { dtype, shape, data: float16BitsToFloat32(pick(src as Uint16Array)) };
    case 'bfloat16': {
      // bfloat16 is the top half of a float32
      const bits = pick(src as Uint16Array);
      const wide = new Uint32Array(n);
      for (let i = 0; i < n; i++) wide[i] = bits[i]! << 16;
      return { dtype, shape, data: new Float32Array(wide.buffer) };
    }
    case 'float32':
      return { dtype, shape, data: new Float32Array(pick(src as Float32Array)) };
    case 'float64':
      return { dtype, shape, data: new Float32Array(pick(src as Float64Array)) };
    case 'int64':
      return { dtype, shape, data: new BigInt64Array(pick(src as BigInt64Array)) };
    case 'int32':
      return { dtype, shape, data: new Int32Array(pick(src as Int32Array)) };
    case 'int16':
      return { dtype, shape, data: new Int32Array(pick(src as Int16Array)) };
    case 'uint8':
      return { dtype, shape, data: new Uint8Array(pick(src as Uint8Array)) };
    case 'bool':
      return { dtype, shape, data: Uint8Array.from(pick(src as Uint8Array), (b) => (b ? 1 : 0)) };
    case 'int8':
      return { dtype, shape, data: new Int8Array(pick(src as Int8Array)) };
  }
}
