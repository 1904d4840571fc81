import { TptError } from '../errors.js';
import type { StateDict } from '../weights/host-tensor.js';

/**
 * Reading parameters out of a host state_dict, with no tensor library: both engines (tfjs and ONNX Runtime)
 * build their towers from these checked host arrays, so a foreign checkpoint fails the same way in either.
 */

/** A float32 host array with its (PyTorch) shape. */
export interface HostArray {
  data: Float32Array;
  shape: number[];
}

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Looks up a float parameter and checks its shape; a missing or misshapen key means a foreign checkpoint. */
export function takeParam(stateDict: StateDict, name: string, shape?: readonly number[]): HostArray {
  const t = stateDict.get(name);
  if (!t) {
    throw new TptError('WEIGHTS_KEY', `the CLIP weights have no parameter "${name}"`, {
      hint: 'Pass an OpenAI CLIP ResNet checkpoint (e.g. RN50.pt) or a folder written by `tpt convert`.',
    });
  }
  if (!(t.data instanceof Float32Array)) {
    throw new TptError('WEIGHTS_DTYPE', `parameter "${name}" is ${t.dtype}, expected floating point`, {
      hint: 'The checkpoint does not look like a CLIP model; re-export it from PyTorch.',
    });
  }
  if (shape && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))) {
    throw new TptError(
      'WEIGHTS_SHAPE',
      `parameter "${name}" has shape ${describeShape(t.shape)}, expected ${describeShape(shape)}`,
      { hint: 'The checkpoint and the inferred architecture disagree; re-convert it with `tpt convert`.' },
    );
  }
  return { data: t.data, shape: [...t.shape] };
}
