/**
 * A tensor as read from a file, living in host memory (not on a tfjs backend).
 * Shapes and layouts are PyTorch's until the conversion step says otherwise.
 */
export type HostDtype = 'float16' | 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

export interface HostTensor {
  /** Element type of the source; `data` holds float32 for every floating dtype, after conversion. */
  dtype: HostDtype;
  shape: number[];
  /** Contiguous row-major values. Floating types are widened to float32; int64 is kept as BigInt64Array. */
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
}

/** A PyTorch-style state_dict: dotted parameter names to tensors, in file order. */
export type StateDict = Map<string, HostTensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
