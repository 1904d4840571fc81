/**
 * Gradient functions for the kernels TPT differentiates through (the text tower, L2 normalisation, logits and
 * the entropy-style losses), registered with tfjs-core.
 *
 * Why this file exists: tfjs-core's own gradient registrations live only in its ESM tree
 * (`dist/register_all_gradients.js`), whose extensionless relative imports plain Node cannot load; the tfjs
 * umbrella package, which would bundle them, is not a dependency. The definitions below follow tfjs-core 4.22's
 * `src/gradients/*_grad.ts` (Apache-2.0) one for one. A kernel that already has a gradient (for example when a
 * bundler did load tfjs's own) is left alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';

type NamedGradientMap = Record<string, () => Tensor>;

const { getReductionAxes, assertAndGetBroadcastShape, getUndoAxesPermutation, expandShapeToKeepDim } = tf.backend_util;

/** Sums a broadcast gradient back down to `shape`. */
function unbroadcast(grad: Tensor, shape: number[], outShape: number[]): Tensor {
  const axes = getReductionAxes(shape, outShape);
  return tf.reshape(axes.length > 0 ? tf.sum(grad, axes) : grad, shape);
}

function broadcastBinary(kernelName: string, da: (dy: Tensor, a: Tensor, b: Tensor) => Tensor, db: (dy: Tensor, a: Tensor, b: Tensor) => Tensor): GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [Tensor, Tensor];
      const outShape = assertAndGetBroadcastShape(a.shape, b.shape);
      const g = dy as Tensor;
      return { a: () => unbroadcast(da(g, a, b), a.shape, outShape), b: () => unbroadcast(db(g, a, b), b.shape, outShape) };
    },
  };
}

function unary(kernelName: string, dx: (dy: Tensor, x: Tensor, y: Tensor) => Tensor, save: 'x' | 'y'): GradConfig {
  return {
    kernelName,
    ...(save === 'x' ? { inputsToSave: ['x'] } : { outputsToSave: [true] }),
    gradFunc: (dy, saved) => {
      const [s] = saved as [Tensor];
      return { x: () => dx(dy as Tensor, s, s) };
    },
  };
}

/** [..., m, n] → [..., n, m] */
function swapLastAxes(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/** Gradients of a kernel whose inputs are a list (Concat, Pack): tfjs keys them by position. */
function byPosition(parts: Tensor[]): NamedGradientMap {
  const map: NamedGradientMap = {};
  parts.forEach((t, i) => (map[i] = () => t));
  return map;
}

function reduceGrad(dy: Tensor, x: Tensor, axes: number[]): Tensor {
  const expanded = x.shape.slice();
  for (const a of axes) expanded[a] = 1;
  return tf.mul(tf.reshape(dy, expanded), tf.ones(x.shape, 'float32'));
}

/** Max names its axes `reductionIndices`, Min names them `axis` (tfjs-core's kernel attributes). */
function minMaxGrad(kernelName: string, axisAttr: 'reductionIndices' | 'axis'): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const [x, y0] = saved as [Tensor, Tensor];
      const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
      const y = y0.rank < x.rank ? tf.reshape(y0, expandShapeToKeepDim(y0.shape, axes)) : y0;
      const g = (dy as Tensor).rank < x.rank ? tf.reshape(dy as Tensor, expandShapeToKeepDim((dy as Tensor).shape, axes)) : (dy as Tensor);
      return { x: () => tf.mul(g, tf.cast(tf.equal(x, y), g.dtype)) };
    },
  };
}

const CONFIGS: GradConfig[] = [
  broadcastBinary(tf.Add, (dy) => dy, (dy) => dy),
  broadcastBinary(tf.Sub, (dy) => dy, (dy) => tf.neg(dy)),
  broadcastBinary(tf.Multiply, (dy, _a, b) => tf.mul(dy, tf.cast(b, 'float32')), (dy, a) => tf.mul(dy, tf.cast(a, 'float32'))),
  broadcastBinary(tf.RealDiv, (dy, _a, b) => tf.div(dy, tf.cast(b, 'float32')), (dy, a, b) => tf.neg(tf.div(tf.mul(dy, tf.cast(a, 'float32')), tf.cast(tf.square(b), 'float32')))),
  broadcastBinary(tf.Maximum, (dy, a, b) => tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')), (dy, a, b) => tf.mul(dy, tf.cast(tf.less(a, b), 'float32'))),
  broadcastBinary(tf.Minimum, (dy, a, b) => tf.mul(dy, tf.cast(tf.lessEqual(a, b), 'float32')), (dy, a, b) => tf.mul(dy, tf.cast(tf.greater(a, b), 'float32'))),
  broadcastBinary(tf.SquaredDifference, (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(a, b), 2)), (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(b, a), 2))),
  unary(tf.Neg, (dy) => tf.neg(dy), 'x'),
  unary(tf.Exp, (dy, _x, y) => tf.mul(dy, y), 'y'),
  unary(tf.Log, (dy, x) => tf.div(dy, tf.cast(x, 'float32')), 'x'),
  unary(tf.Sqrt, (dy, x) => tf.div(dy, tf.mul(tf.sqrt(tf.cast(x, 'float32')), 2)), 'x'),
  unary(tf.Rsqrt, (dy, x) => tf.neg(tf.div(dy, tf.mul(tf.pow(x, 1.5), 2))), 'x'),
  unary(tf.Square, (dy, x) => tf.mul(dy, tf.mul(tf.cast(x, 'float32'), 2)), 'x'),
  unary(tf.Sigmoid, (dy, _x, y) => tf.mul(dy, tf.mul(y, tf.sub(tf.scalar(1), y))), 'y'),
  unary(tf.Tanh, (dy, _x, y) => tf.mul(tf.sub(tf.scalar(1), tf.square(y)), dy), 'y'),
  unary(tf.Relu, (dy, x) => tf.mul(dy, tf.cast(tf.step(x), 'float32')), 'x'),
  unary(tf.Abs, (dy, x) => tf.mul(dy, tf.step(tf.cast(x, 'float32'), -1)), 'x'),
  { kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => (dy as Tensor).clone() }) },
  { kernelName: tf.Identity, gradFunc: (dy) => ({ x: () => tf.cast(dy as Tensor, 'float32') }) },
  {
    kernelName: tf.ClipByValue,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const g = dy as Tensor;
      const inside = tf.logicalAnd(tf.greaterEqual(x, attrs['clipValueMin'] as number), tf.lessEqual(x, attrs['clipValueMax'] as number));
      return { x: () => tf.where(inside, g, tf.zerosLike(g)) };
    },
  },
  {
    // As tfjs-core's, except that operands are transposed explicitly: the wasm backend's matMul with
    // transposeA/transposeB runs about 15x slower than a transpose followed by a plain matMul.
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [Tensor, Tensor];
      const g = dy as Tensor;
      const ta = attrs['transposeA'] as boolean;
      const tb = attrs['transposeB'] as boolean;
      const mm = (x: Tensor, y: Tensor, tx: boolean, ty: boolean) => tf.matMul(tx ? swapLastAxes(x) : x, ty ? swapLastAxes(y) : y);
      if (!ta && !tb) return { a: () => mm(g, b, false, true), b: () => mm(a, g, true, false) };
      if (!ta && tb) return { a: () => mm(g, b, false, false), b: () => mm(g, a, true, false) };
      if (ta && !tb) return { a: () => mm(b, g, false, true), b: () => mm(a, g, false, false) };
      return { a: () => mm(b, g, true, true), b: () => mm(g, a, true, true) };
    },
  },
  {
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved as [Tensor];
      const dyTimesY = tf.mul(dy as Tensor, y);
      return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [attrs['dim'] as number], true), y)) };
    },
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const axes = tf.util.parseAxisParam(attrs['axis'] as number | number[], x.shape);
      return { x: () => reduceGrad(dy as Tensor, x, axes) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const axes = tf.util.parseAxisParam(attrs['axis'] as number | number[], x.shape);
      const reduceSize = axes.reduce((n, a) => n * x.shape[a]!, 1);
      return { x: () => tf.div(reduceGrad(dy as Tensor, x, axes), reduceSize) };
    },
  },
  minMaxGrad(tf.Max, 'reductionIndices'),
  minMaxGrad(tf.Min, 'axis'),
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as Tensor, (saved[0] as Tensor).shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.transpose(dy as Tensor, getUndoAxesPermutation(attrs['perm'] as number[])) }),
  },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const inputs = saved as Tensor[];
      const axis = tf.util.parseAxisParam(attrs['axis'] as number, inputs[0]!.shape)[0]!;
      const parts = tf.split(dy as Tensor, inputs.map((t) => t.shape[axis]!), axis);
      return byPosition(parts);
    },
  },
  {
    kernelName: tf.SplitV,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.concat(dy as Tensor[], attrs['axis'] as number) }),
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const [begin, size] = tf.slice_util.parseSliceParams(x, attrs['begin'] as number | number[], attrs['size'] as number | number[]);
      const paddings = x.shape.map((d, i): [number, number] => [begin![i]!, d - begin![i]! - size![i]!]);
      return { x: () => tf.pad(dy as Tensor, paddings) };
    },
  },
  {
    kernelName: tf.Pack,
    saveAllInputs: true,
    gradFunc: (dy, _saved, attrs) => byPosition(tf.unstack(dy as Tensor, attrs['axis'] as number)),
  },
  {
    // tf.broadcastTo runs Tile. dy [r0·s0, r1·s1, …] viewed as [r0, s0, r1, s1, …] and summed over the r axes.
    kernelName: tf.Tile,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const reps = attrs['reps'] as number[];
      const interleaved = x.shape.flatMap((d, i) => [reps[i]!, d]);
      const repAxes = x.shape.map((_, i) => 2 * i);
      return { x: () => tf.reshape(tf.sum(tf.reshape(dy as Tensor, interleaved), repAxes), x.shape) };
    },
  },
  {
    kernelName: tf.BroadcastTo,
    gradFunc: (dy, _saved, attrs) => {
      const inputShape = attrs['inputShape'] as number[];
      const outputShape = attrs['shape'] as number[];
      // Leading axes added by broadcasting and axes where the input had size 1 are summed.
      const offset = outputShape.length - inputShape.length;
      const axes = outputShape.map((d, i) => i).filter((i) => i < offset || (inputShape[i - offset] === 1 && outputShape[i] !== 1));
      return { x: () => tf.sum(dy as Tensor, axes, true) };
    },
  },
];

let registered = false;

/** Registers the gradients above for kernels that have none yet; idempotent. */
export function ensureGradients(): void {
  if (registered) return;
  for (const config of CONFIGS) {
    if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
  }
  registered = true;
}

ensureGradients();
