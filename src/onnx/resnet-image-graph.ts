import { takeParam } from '../model/host-params.js';
import {
  STEM_CONVS,
  attentionPoolHeads,
  attentionPoolShape,
  bottleneckPlan,
  foldBottleneck,
  foldConvBatchNorm,
  type BottleneckPlan,
  type HostFoldedConv,
} from '../model/resnet-plan.js';
import type { StateDict } from '../weights/host-tensor.js';
import type { ResNetClipArch } from '../weights/arch.js';
import { OnnxGraph } from './graph-builder.js';
import { IMAGE_INPUT, IMAGE_OUTPUT } from './image-io.js';
import { GraphOps } from './graph-ops.js';

/**
 * OpenAI's ModifiedResNet image tower (any depth, width and resolution) as an ONNX graph, built from the
 * float32 state_dict with the same exact shortcuts as the tfjs tower (src/model/image-tower.ts), from the
 * same host plan (src/model/resnet-plan.ts):
 * - BatchNorm folded into every convolution, so each layer is Conv(+bias) → Relu, which ONNX Runtime fuses;
 * - the attention pool's single query without key/value projections of the tokens (the algebra is in
 *   src/model/attention-pool.ts).
 * Convolutions run in NCHW, ONNX's layout: ONNX Runtime's CPU provider then reorders them to its blocked
 * NCHWc kernels at the 'all' optimisation level. Only the input is NHWC, as the host views are.
 *
 * Input `views` [V, S, S, 3] (V symbolic), output `features` [V, E], L2-normalised.
 */


/** Folded conv (+bias) with PyTorch's symmetric padding; every conv of the tower has stride 1 except the stem's first. */
function conv(g: OnnxGraph, x: string, folded: HostFoldedConv, name: string, options: { pad: number; stride?: number; relu: boolean }): string {
  const [, , kh, kw] = folded.shape;
  const weight = g.initializer(`${name}.weight`, folded.weight, folded.shape); // [out, in, kh, kw]
  const bias = g.initializer(`${name}.bias`, folded.bias, [folded.shape[0]]);
  const stride = options.stride ?? 1;
  const y = g.op('Conv', [x, weight, bias], {
    kernel_shape: [kh, kw],
    pads: [options.pad, options.pad, options.pad, options.pad],
    strides: [stride, stride],
  });
  return options.relu ? g.op('Relu', [y]) : y;
}

function avgPool(g: OnnxGraph, x: string, size: number): string {
  // No padding and floor rounding, as PyTorch's AvgPool2d(size).
  return g.op('AveragePool', [x], { kernel_shape: [size, size], strides: [size, size] });
}

/** [V, 3, S, S] → [V, w, S/4, S/4]: three 3x3 conv+ReLU (the first strided), then AvgPool2d(2). */
function stem(g: OnnxGraph, stateDict: StateDict, x: string): string {
  let out = x;
  for (const { conv: name, bn, stride } of STEM_CONVS) {
    out = conv(g, out, foldConvBatchNorm(stateDict, name, bn), name, { pad: 1, stride, relu: true });
  }
  return avgPool(g, out, 2);
}

/** [V, inplanes, H, W] → [V, 4·planes, H/stride, W/stride] */
function bottleneck(g: OnnxGraph, stateDict: StateDict, plan: BottleneckPlan, x: string): string {
  const folded = foldBottleneck(stateDict, plan);
  const p = plan.prefix;
  let out = conv(g, x, folded.conv1, `${p}.conv1`, { pad: 0, relu: true });
  out = conv(g, out, folded.conv2, `${p}.conv2`, { pad: 1, relu: true });
  // Anti-aliased striding: every conv has stride 1 and an average pool does the downsampling.
  if (plan.stride > 1) out = avgPool(g, out, plan.stride);
  out = conv(g, out, folded.conv3, `${p}.conv3`, { pad: 0, relu: false });
  let identity = x;
  if (folded.downsample) {
    const pooled = plan.stride > 1 ? avgPool(g, x, plan.stride) : x;
    identity = conv(g, pooled, folded.downsample, `${p}.downsample`, { pad: 0, relu: false });
  }
  return g.op('Relu', [g.op('Add', [out, identity])]);
}

/** y = x·Wᵀ + b with PyTorch's [out, in] weight as it is (Gemm's transB), x [N, in] → [N, out]. */
function linear(g: OnnxGraph, stateDict: StateDict, x: string, name: string, outDim: number, inDim: number): string {
  const w = g.initializer(`${name}.weight`, takeParam(stateDict, `${name}.weight`, [outDim, inDim]).data, [outDim, inDim]);
  const b = g.initializer(`${name}.bias`, takeParam(stateDict, `${name}.bias`, [outDim]).data, [outDim]);
  return g.op('Gemm', [x, w, b], { transB: 1 });
}

/** The attention pool with one query, the mean token: [V, C, H, W] → [V, E]. */
function attentionPool(g: OnnxGraph, stateDict: StateDict, arch: ResNetClipArch, x: string): string {
  const prefix = 'visual.attnpool';
  const { spacialDim, width: c, heads, headDim: d, outputDim } = attentionPoolShape(arch);
  const hw = spacialDim * spacialDim;
  const t = hw + 1;
  const positional = g.initializer(`${prefix}.positional_embedding`, takeParam(stateDict, `${prefix}.positional_embedding`, [t, c]).data, [t, c]);
  const { kRows, vCols } = attentionPoolHeads(stateDict, prefix, c, heads);
  const kHeads = g.initializer(`${prefix}.k_rows`, kRows, [heads, d, c]); // W_k,h
  const vHeads = g.initializer(`${prefix}.v_cols`, vCols, [heads, c, d]); // W_v,hᵀ
  const vBias = g.initializer(`${prefix}.v_proj.bias`, takeParam(stateDict, `${prefix}.v_proj.bias`, [c]).data, [c]);
  const swap01 = { perm: [1, 0, 2] };

  const grid = g.op('Transpose', [g.op('Reshape', [x, g.constInt64([0, c, hw])])], { perm: [0, 2, 1] }); // [V, C, HW] → [V, HW, C]
  const mean = g.op('ReduceMean', [grid], { axes: [1], keepdims: 1 }); // [V, 1, C]
  const tokens = g.op('Add', [g.op('Concat', [mean, grid], { axis: 1 }), positional]); // [V, T, C], T = HW+1
  const query = g.op('Gather', [tokens, g.constInt64([0], [])], { axis: 1 }); // [V, C]: the mean token
  const q = g.op('Mul', [linear(g, stateDict, query, `${prefix}.q_proj`, c, c), g.constFloat([1 / Math.sqrt(d)], [])]); // [V, C], heads are blocks of d
  const qHeads = g.op('Transpose', [g.op('Reshape', [q, g.constInt64([0, heads, d])])], swap01); // [V, heads, d] → [heads, V, d]
  // u_h = W_k,hᵀ q_h: scores are u_h·x_i (k_proj.bias drops out of the softmax)
  const u = g.op('Transpose', [g.op('MatMul', [qHeads, kHeads])], swap01); // [heads, V, C] → [V, heads, C]
  const scores = g.op('MatMul', [u, g.op('Transpose', [tokens], { perm: [0, 2, 1] })]); // [V, heads, C] × [V, C, T] → [V, heads, T]
  const weights = g.op('Softmax', [scores], { axis: -1 }); // [V, heads, T]
  const z = g.op('Transpose', [g.op('MatMul', [weights, tokens])], swap01); // Σ_i a_hi x_i: [V, heads, C] → [heads, V, C]
  // W_v,h (Σ_i a_hi x_i) + b_v: the weights sum to 1, so the value bias passes through
  const valueHeads = g.op('Transpose', [g.op('MatMul', [z, vHeads])], swap01); // [heads, V, d] → [V, heads, d]
  const attended = g.op('Add', [g.op('Reshape', [valueHeads, g.constInt64([0, c])]), vBias]); // [V, C]
  return linear(g, stateDict, attended, `${prefix}.c_proj`, outputDim, c); // [V, E]
}

/** The serialised graph; the folded weights it was built from become garbage once this returns. */
export function buildResNetImageGraph(stateDict: StateDict, arch: ResNetClipArch): Uint8Array {
  const g = new OnnxGraph('clip_resnet_image_tower');
  const size = arch.imageResolution;
  const views = g.input(IMAGE_INPUT, ['views', size, size, 3]);
  let x = g.op('Transpose', [views], { perm: [0, 3, 1, 2] }); // [V, S, S, 3] → [V, 3, S, S]
  x = stem(g, stateDict, x); // [V, w, S/4, S/4]
  for (const stage of bottleneckPlan(arch)) {
    for (const plan of stage) x = bottleneck(g, stateDict, plan, x);
  } // [V, 32w, S/32, S/32]
  const features = new GraphOps(g).l2NormalizeRows(attentionPool(g, stateDict, arch, x)); // [V, E]
  g.output(features, IMAGE_OUTPUT, ['views', arch.embedDim]);
  return g.toBytes();
}
