import { TptError } from '../errors.js';
import type { ClipArch } from '../weights/arch.js';
import type { HostTensor, StateDict } from '../weights/host-tensor.js';

/*
 * The host view of a checkpoint (no tensors): what every engine reads its weights through.
 */

/**
 * The architecture the model is built for: the same type the weights loader infers (one type for every
 * backbone, told apart by `visionKind`). `ClipWeights` from `src/weights/load.ts` satisfies `ModelWeights`
 * structurally; keeping the model on this narrow view lets tests build weights of any shape in memory.
 */
export type ModelArch = ClipArch;

export interface ModelWeights {
  arch: ModelArch;
  /** float32 values under PyTorch names and layouts (Linear [out,in], Conv [out,in,kh,kw]). */
  stateDict: StateDict;
  coopCtx?: HostTensor | undefined;
}

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
      hint: 'Pass an OpenAI CLIP checkpoint (e.g. RN50.pt, ViT-B-16.pt) or a folder written by `tpt convert`.',
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

