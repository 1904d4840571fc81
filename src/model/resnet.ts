import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../weights/host-tensor.js';
import { takeParam } from './model-weights.js';

/** PyTorch's BatchNorm2d default; OpenAI's CLIP keeps it. */
const BN_EPS = 1e-5;

/** A convolution with its eval-mode BatchNorm folded in: y = conv(x, filter) + bias. */
export interface FoldedConv {
  /** [kh, kw, in, out]: tfjs's filter layout (PyTorch's is [out, in, kh, kw]). */
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  /** Symmetric zero padding, as PyTorch's `padding=`; TF's 'same' would pad a stride-2 conv only at the end. */
  pad: number;
  stride: number;
}

/**
 * Folds BatchNorm (running statistics, eps 1e-5) into the preceding bias-free convolution:
 * scale = γ/√(σ²+ε), filter·scale per output channel, bias = β − μ·scale. Done once at build, in float64,
 * so the forward pass is one fused conv+bias(+ReLU) per layer instead of conv, four BN ops and a ReLU.
 */
export function foldConvBn(stateDict: StateDict, conv: string, bn: string, options: { pad: number; stride?: number }): FoldedConv {
  const w = takeParam(stateDict, `${conv}.weight`);
  const [outC, inC, kh, kw] = w.shape as [number, number, number, number];
  if (w.shape.length !== 4) throw new Error(`${conv}.weight must be 4-D, got [${w.shape.join(', ')}]`);
  const gamma = takeParam(stateDict, `${bn}.weight`, [outC]).data;
  const beta = takeParam(stateDict, `${bn}.bias`, [outC]).data;
  const mean = takeParam(stateDict, `${bn}.running_mean`, [outC]).data;
  const variance = takeParam(stateDict, `${bn}.running_var`, [outC]).data;

  const filter = new Float32Array(kh * kw * inC * outC);
  const bias = new Float32Array(outC);
  for (let o = 0; o < outC; o++) {
    const scale = gamma[o]! / Math.sqrt(variance[o]! + BN_EPS);
    bias[o] = beta[o]! - mean[o]! * scale;
    for (let i = 0; i < inC; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          // PyTorch [o, i, y, x] → tfjs [y, x, i, o]
          filter[((y * kw + x) * inC + i) * outC + o] = w.data[((o * inC + i) * kh + y) * kw + x]! * scale;
        }
      }
    }
  }
  return {
    filter: tf.tensor4d(filter, [kh, kw, inC, outC]),
    bias: tf.tensor1d(bias),
    pad: options.pad,
    stride: options.stride ?? 1,
  };
}

export function applyConv(x: tf.Tensor4D, conv: FoldedConv, relu: boolean): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: conv.filter,
    strides: conv.stride,
    pad: conv.pad,
    dataFormat: 'NHWC',
    bias: conv.bias,
    activation: relu ? 'relu' : 'linear',
  });
}

function disposeConv(conv: FoldedConv): void {
  conv.filter.dispose();
  conv.bias.dispose();
}

/** ModifiedResNet's bottleneck: 1x1 → 3x3 → (avgpool when strided) → 1x1, plus the (avgpool → 1x1 → BN) shortcut. */
export class Bottleneck {
  static readonly expansion = 4;
  private readonly conv1: FoldedConv;
  private readonly conv2: FoldedConv;
  private readonly conv3: FoldedConv;
  private readonly downsample: FoldedConv | undefined;

  constructor(
    stateDict: StateDict,
    prefix: string,
    readonly inplanes: number,
    readonly planes: number,
    readonly stride: number,
  ) {
    this.conv1 = foldConvBn(stateDict, `${prefix}.conv1`, `${prefix}.bn1`, { pad: 0 });
    this.conv2 = foldConvBn(stateDict, `${prefix}.conv2`, `${prefix}.bn2`, { pad: 1 });
    this.conv3 = foldConvBn(stateDict, `${prefix}.conv3`, `${prefix}.bn3`, { pad: 0 });
    const hasDownsample = stride > 1 || inplanes !== planes * Bottleneck.expansion;
    // The shortcut's AvgPool2d (key "-1") has no parameters, so its conv is "downsample.0" and its BN "downsample.1".
    this.downsample = hasDownsample
      ? foldConvBn(stateDict, `${prefix}.downsample.0`, `${prefix}.downsample.1`, { pad: 0 })
      : undefined;
    const expectedFilters: [FoldedConv, number, number][] = [
      [this.conv1, inplanes, planes],
      [this.conv2, planes, planes],
      [this.conv3, planes, planes * Bottleneck.expansion],
    ];
    for (const [conv, inC, outC] of expectedFilters) {
      if (conv.filter.shape[2] !== inC || conv.filter.shape[3] !== outC) {
        throw new Error(`${prefix}: filter [${conv.filter.shape.join(', ')}] does not fit ${inC}→${outC} channels`);
      }
    }
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let out = applyConv(x, this.conv1, true);
      out = applyConv(out, this.conv2, true);
      // Anti-aliased striding: every conv has stride 1 and an average pool does the downsampling.
      if (this.stride > 1) out = tf.avgPool(out, this.stride, this.stride, 'valid');
      out = applyConv(out, this.conv3, false);
      let identity = x;
      if (this.downsample) {
        const pooled = this.stride > 1 ? tf.avgPool(x, this.stride, this.stride, 'valid') : x;
        identity = applyConv(pooled, this.downsample, false);
      }
      return tf.relu(tf.add(out, identity)) as tf.Tensor4D;
    });
  }

  dispose(): void {
    disposeConv(this.conv1);
    disposeConv(this.conv2);
    disposeConv(this.conv3);
    if (this.downsample) disposeConv(this.downsample);
  }
}

/** The 3-conv stem (3→w/2 stride 2, w/2→w/2, w/2→w, each with BN+ReLU) followed by AvgPool2d(2). */
export class ResNetStem {
  private readonly convs: FoldedConv[];

  constructor(stateDict: StateDict, prefix: string) {
    this.convs = [
      foldConvBn(stateDict, `${prefix}.conv1`, `${prefix}.bn1`, { pad: 1, stride: 2 }),
      foldConvBn(stateDict, `${prefix}.conv2`, `${prefix}.bn2`, { pad: 1 }),
      foldConvBn(stateDict, `${prefix}.conv3`, `${prefix}.bn3`, { pad: 1 }),
    ];
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let out = x;
      for (const conv of this.convs) out = applyConv(out, conv, true);
      return tf.avgPool(out, 2, 2, 'valid');
    });
  }

  dispose(): void {
    for (const conv of this.convs) disposeConv(conv);
  }
}
