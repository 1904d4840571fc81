import * as tf from '@tensorflow/tfjs-core';
import { TptError } from '../errors.js';
import type { ClipArch } from '../weights/arch.js';
import type { HostTensor, StateDict } from '../weights/host-tensor.js';

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

/**
 * PyTorch Linear stores [out, in] because it computes x·Wᵀ; tf.matMul(x, W) wants [in, out].
 * Transposing once on the host keeps every forward pass free of transposes.
 */
export function linearWeight(stateDict: StateDict, name: string, outDim: number, inDim: number): tf.Tensor2D {
  const w = takeParam(stateDict, name, [outDim, inDim]).data;
  const out = new Float32Array(inDim * outDim);
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) out[i * outDim + o] = w[o * inDim + i]!;
  }
  return tf.tensor2d(out, [inDim, outDim]);
}

export function vector(stateDict: StateDict, name: string, length: number): tf.Tensor1D {
  return tf.tensor1d(takeParam(stateDict, name, [length]).data);
}

/** A tensor that keeps PyTorch's layout because it is already used as x·P (text_projection, embeddings). */
export function plainTensor(stateDict: StateDict, name: string, shape: readonly number[]): tf.Tensor {
  return tf.tensor(takeParam(stateDict, name, shape).data, [...shape]);
}

/**
 * A frozen Linear layer whose input may need a gradient: y = x·W + b, x [N, in]. The gradient dy·Wᵀ uses a
 * stored [out, in] copy (PyTorch's own layout) instead of a transposed matMul, which the wasm backend runs
 * about 15x slower, or a transpose of W on every backward pass.
 */
export class FrozenLinear {
  /** [in, out] */
  readonly weight: tf.Tensor2D;
  /** [out, in] */
  private readonly weightT: tf.Tensor2D;
  readonly bias: tf.Tensor1D | undefined;
  private readonly apply: (x: tf.Tensor2D) => tf.Tensor2D;

  constructor(weightOutIn: HostArray, bias: Float32Array | undefined) {
    const [outDim, inDim] = weightOutIn.shape as [number, number];
    this.weightT = tf.tensor2d(weightOutIn.data, [outDim, inDim]);
    this.weight = tf.transpose(this.weightT) as tf.Tensor2D;
    this.bias = bias ? tf.tensor1d(bias) : undefined;
    // The bias is added inside, so no Add node keeps the pre-bias product alive for the backward pass.
    const linearWithGradient = (x: tf.Tensor) => ({
      value: tf.tidy(() => {
        const product = tf.matMul(x as tf.Tensor2D, this.weight);
        return this.bias ? tf.add(product, this.bias) : product;
      }),
      gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, this.weightT) as tf.Tensor,
    });
    this.apply = tf.customGrad(linearWithGradient as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
  }

  static fromStateDict(stateDict: StateDict, name: string, outDim: number, inDim: number, withBias = true): FrozenLinear {
    const weight = takeParam(stateDict, `${name}.weight`, [outDim, inDim]);
    const bias = withBias ? takeParam(stateDict, `${name}.bias`, [outDim]).data : undefined;
    return new FrozenLinear(weight, bias);
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    return this.apply(x);
  }

  dispose(): void {
    this.weight.dispose();
    this.weightT.dispose();
    this.bias?.dispose();
  }
}
