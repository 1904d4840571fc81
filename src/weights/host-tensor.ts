/**
 * A tensor as read from a file, living in host memory (not on a tfjs backend).
 * Shapes and layouts are PyTorch's until the conversion step says otherwise.
 */
export type HostDtype =
  | 'float16'
  | 'bfloat16'
  | 'float32'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'uint8'
  | 'int8'
  | 'bool';

export interface HostTensor {
  /** Element type of the source; `data` holds float32 for every floating dtype, after conversion. */
  dtype: HostDtype;
  shape: number[];
  /**
   * Contiguous row-major values. Floating types are widened (float64: narrowed) to float32; int64 is kept as
   * BigInt64Array; int32 and int16 as Int32Array; uint8 and bool (0/1) as Uint8Array; int8 as Int8Array.
   */
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
}

/** A PyTorch-style state_dict: dotted parameter names to tensors, in file order. */
export type StateDict = Map<string, HostTensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function isFloatDtype(dtype: HostDtype): boolean {
  return dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float32' || dtype === 'float64';
}

/** True for a value shaped like a HostTensor (what the checkpoint reader puts in place of each tensor). */
export function isHostTensor(v: unknown): v is HostTensor {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Partial<HostTensor>;
  return typeof t.dtype === 'string' && Array.isArray(t.shape) && ArrayBuffer.isView(t.data);
}
