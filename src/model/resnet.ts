import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../weights/host-tensor.js';
import { STEM_CONVS, foldBottleneck, foldConvBatchNorm, type BottleneckPlan, type HostFoldedConv } from './resnet-plan.js';

/** A convolution with its eval-mode BatchNorm folded in: y = conv(x, filter) + bias. */
export interface FoldedConv {
  /** [kh, kw, in, out]: tfjs's filter layout (PyTorch's is [out, in, kh, kw]). */
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  /** Symmetric zero padding, as PyTorch's `padding=`; TF's 'same' would pad a stride-2 conv only at the end. */
  pad: number;
  stride: number;
}

/** A host folded conv (see `foldConvBatchNorm`) as tfjs tensors. */
function toTfjsConv(folded: HostFoldedConv, options: { pad: number; stride?: number }): FoldedConv {
  const [outC, inC, kh, kw] = folded.shape;
  const filter = new Float32Array(folded.weight.length);
  for (let o = 0; o < outC; o++) {
    for (let i = 0; i < inC; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          // PyTorch [o, i, y, x] → tfjs [y, x, i, o]
          filter[((y * kw + x) * inC + i) * outC + o] = folded.weight[((o * inC + i) * kh + y) * kw + x]!;
        }
      }
    }
  }
  return {
    filter: tf.tensor4d(filter, [kh, kw, inC, outC]),
    bias: tf.tensor1d(folded.bias),
    pad: options.pad,
    stride: options.stride ?? 1,
  };
}

export function foldConvBn(stateDict: StateDict, conv: string, bn: string, options: { pad: number; stride?: number }): FoldedConv {
  return toTfjsConv(foldConvBatchNorm(stateDict, conv, bn), options);
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
  private readonly conv1: FoldedConv;
  private readonly conv2: FoldedConv;
  private readonly conv3: FoldedConv;
  private readonly downsample: FoldedConv | undefined;
  private readonly stride: number;

  constructor(stateDict: StateDict, plan: BottleneckPlan) {
    this.stride = plan.stride;
    const folded = foldBottleneck(stateDict, plan);
    this.conv1 = toTfjsConv(folded.conv1, { pad: 0 });
    this.conv2 = toTfjsConv(folded.conv2, { pad: 1 });
    this.conv3 = toTfjsConv(folded.conv3, { pad: 0 });
    this.downsample = folded.downsample && toTfjsConv(folded.downsample, { pad: 0 });
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

  constructor(stateDict: StateDict) {
    this.convs = STEM_CONVS.map(({ conv, bn, stride }) => foldConvBn(stateDict, conv, bn, { pad: 1, stride }));
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
