import type { StateDict } from '../weights/host-tensor.js';
import { takeParam } from './host-params.js';
import type { ResNetClipArch } from '../weights/arch.js';

/**
 * Host planning of OpenAI's ModifiedResNet image tower, with no tensor library: which blocks exist and how
 * they stride, the BatchNorm folding and the attention pool's per-head weights. The tfjs tower (src/model/
 * image-tower.ts) and the ONNX graph (src/onnx/resnet-image-graph.ts) are both built from these, so each exact
 * shortcut is derived once.
 */

/** PyTorch's BatchNorm2d default; OpenAI's CLIP keeps it. */
const BN_EPS = 1e-5;

/** Output channels per block are `planes · BOTTLENECK_EXPANSION`. */
export const BOTTLENECK_EXPANSION = 4;

/** A bias-free convolution with its eval-mode BatchNorm folded in: y = conv(x, weight) + bias. */
export interface HostFoldedConv {
  /** [out, in, kh, kw]: PyTorch's (and ONNX's) layout. */
  weight: Float32Array;
  bias: Float32Array;
  /** [out, in, kh, kw] */
  shape: [number, number, number, number];
}

/**
 * Folds BatchNorm (running statistics, eps 1e-5) into the preceding bias-free convolution:
 * scale = γ/√(σ²+ε), weight·scale per output channel, bias = β − μ·scale. Done once at build, in float64,
 * so the forward pass is one fused conv+bias(+ReLU) per layer instead of conv, four BN ops and a ReLU.
 */
export function foldConvBatchNorm(stateDict: StateDict, conv: string, bn: string): HostFoldedConv {
  const w = takeParam(stateDict, `${conv}.weight`);
  if (w.shape.length !== 4) throw new Error(`${conv}.weight must be 4-D, got [${w.shape.join(', ')}]`);
  const shape = w.shape as [number, number, number, number];
  const outC = shape[0];
  const perOutput = shape[1] * shape[2] * shape[3];
  const gamma = takeParam(stateDict, `${bn}.weight`, [outC]).data;
  const beta = takeParam(stateDict, `${bn}.bias`, [outC]).data;
  const mean = takeParam(stateDict, `${bn}.running_mean`, [outC]).data;
  const variance = takeParam(stateDict, `${bn}.running_var`, [outC]).data;

  const weight = new Float32Array(w.data.length);
  const bias = new Float32Array(outC);
  for (let o = 0; o < outC; o++) {
    const scale = gamma[o]! / Math.sqrt(variance[o]! + BN_EPS);
    bias[o] = beta[o]! - mean[o]! * scale;
    for (let k = o * perOutput; k < (o + 1) * perOutput; k++) weight[k] = w.data[k]! * scale;
  }
  return { weight, bias, shape };
}

/** One bottleneck: 1x1 → 3x3 → (avgpool when strided) → 1x1, plus the (avgpool → 1x1 → BN) shortcut. */
export interface BottleneckPlan {
  /** e.g. 'visual.layer2.0' */
  prefix: string;
  inplanes: number;
  planes: number;
  /** 1, or 2 for the first block of stages 2–4 (done by an average pool, not by the convs). */
  stride: number;
  /** Whether the shortcut has its own (avgpool →) 1x1 conv + BN, keys `downsample.0` / `downsample.1`. */
  downsample: boolean;
}

/** The blocks of each stage, in order, for the architecture's layer counts and width. */
export function bottleneckPlan(arch: Pick<ResNetClipArch, 'visionLayers' | 'visionWidth'>): BottleneckPlan[][] {
  let inplanes = arch.visionWidth;
  return arch.visionLayers.map((blocks, stage) => {
    const planes = arch.visionWidth * 2 ** stage;
    const stageBlocks: BottleneckPlan[] = [];
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      stageBlocks.push({
        prefix: `visual.layer${stage + 1}.${b}`,
        inplanes,
        planes,
        stride,
        downsample: stride > 1 || inplanes !== planes * BOTTLENECK_EXPANSION,
      });
      inplanes = planes * BOTTLENECK_EXPANSION;
    }
    return stageBlocks;
  });
}

/** A bottleneck's folded convs, their channel counts checked against the plan. */
export interface FoldedBottleneck {
  /** 1x1, inplanes → planes (+ReLU) */
  conv1: HostFoldedConv;
  /** 3x3 padding 1, planes → planes (+ReLU) */
  conv2: HostFoldedConv;
  /** 1x1, planes → 4·planes */
  conv3: HostFoldedConv;
  /** 1x1, inplanes → 4·planes, after the shortcut's average pool */
  downsample: HostFoldedConv | undefined;
}

export function foldBottleneck(stateDict: StateDict, plan: BottleneckPlan): FoldedBottleneck {
  const { prefix, inplanes, planes } = plan;
  const outplanes = planes * BOTTLENECK_EXPANSION;
  const fold = (conv: string, bn: string, inC: number, outC: number, k: number) => {
    const folded = foldConvBatchNorm(stateDict, `${prefix}.${conv}`, `${prefix}.${bn}`);
    const [o, i, kh, kw] = folded.shape;
    if (o !== outC || i !== inC || kh !== k || kw !== k) {
      throw new Error(`${prefix}.${conv}: weight [${folded.shape.join(', ')}] does not fit a ${k}x${k} conv ${inC}→${outC}`);
    }
    return folded;
  };
  return {
    conv1: fold('conv1', 'bn1', inplanes, planes, 1),
    conv2: fold('conv2', 'bn2', planes, planes, 3),
    conv3: fold('conv3', 'bn3', planes, outplanes, 1),
    // The shortcut's AvgPool2d (key "-1") has no parameters, so its conv is "downsample.0" and its BN "downsample.1".
    downsample: plan.downsample ? fold('downsample.0', 'downsample.1', inplanes, outplanes, 1) : undefined,
  };
}

/** The stem's three convs (3→w/2 stride 2, w/2→w/2, w/2→w), each 3x3 with padding 1, then AvgPool2d(2). */
export const STEM_CONVS = [
  { conv: 'visual.conv1', bn: 'visual.bn1', stride: 2 },
  { conv: 'visual.conv2', bn: 'visual.bn2', stride: 1 },
  { conv: 'visual.conv3', bn: 'visual.bn3', stride: 1 },
] as const;

/** The attention pool's geometry: the stem halves twice and three stages halve once each, 32x in all. */
export function attentionPoolShape(arch: Pick<ResNetClipArch, 'imageResolution' | 'visionWidth' | 'visionHeads' | 'embedDim'>) {
  const width = arch.visionWidth * 32;
  if (width % arch.visionHeads !== 0) throw new Error(`attention pool width ${width} is not divisible by ${arch.visionHeads} heads`);
  return {
    /** H = W of the final feature map */
    spacialDim: Math.floor(arch.imageResolution / 32),
    /** C, the feature map's channels */
    width,
    heads: arch.visionHeads,
    /** d = C / heads */
    headDim: width / arch.visionHeads,
    /** E */
    outputDim: arch.embedDim,
  };
}

/**
 * The attention pool's key and value weights, split by head for the single-query algebra (see
 * src/model/attention-pool.ts): with one query, keys and values of the tokens are never projected.
 * - kRows [heads, d, C]: W_k,h, the rows of k_proj.weight for head h (PyTorch's [out, in] is already that);
 * - vCols [heads, C, d]: W_v,hᵀ, so that Σ_i a_hi x_i [C] times it is head h's value output [d].
 * k_proj.bias is only checked: it shifts every score of a head by the same amount, which softmax removes.
 */
export function attentionPoolHeads(stateDict: StateDict, prefix: string, width: number, heads: number): { kRows: Float32Array; vCols: Float32Array } {
  const c = width;
  const d = c / heads;
  takeParam(stateDict, `${prefix}.k_proj.bias`, [c]);
  const kRows = takeParam(stateDict, `${prefix}.k_proj.weight`, [c, c]).data; // [out, in] = [heads, d, C]
  const vWeight = takeParam(stateDict, `${prefix}.v_proj.weight`, [c, c]).data; // [out, in] = [heads, d, C]
  const vCols = new Float32Array(c * c);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < d; j++) {
      for (let i = 0; i < c; i++) vCols[(h * c + i) * d + j] = vWeight[(h * d + j) * c + i]!;
    }
  }
  return { kRows, vCols };
}
