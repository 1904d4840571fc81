import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../weights/host-tensor.js';
import { AttentionPool2d } from './attention-pool.js';
import type { ResNetClipArch } from '../weights/arch.js';
import { encodeInChunks, type ImageEncoder, type ImageTowerOptions } from './image-encoder.js';
import { Bottleneck, ResNetStem } from './resnet.js';
import { attentionPoolShape, bottleneckPlan } from './resnet-plan.js';

/**
 * OpenAI's ModifiedResNet (any depth and width), inference only: BatchNorm is folded into the convolutions at
 * build time and no gradient ever flows here (TPT tunes only the text context).
 */
export class ImageTower implements ImageEncoder {
  readonly inputResolution: number;
  readonly outputDim: number;
  private readonly stem: ResNetStem;
  private readonly layers: Bottleneck[][];
  private readonly attnpool: AttentionPool2d;
  private readonly chunkSize: number;

  constructor(stateDict: StateDict, arch: ResNetClipArch, options: ImageTowerOptions = {}) {
    const width = arch.visionWidth;
    this.inputResolution = arch.imageResolution;
    this.outputDim = arch.embedDim;
    this.chunkSize = Math.max(1, options.chunkSize ?? 16);
    this.stem = new ResNetStem(stateDict);
    this.layers = bottleneckPlan(arch).map((stage) => stage.map((plan) => new Bottleneck(stateDict, plan)));
    const pool = attentionPoolShape(arch);
    this.attnpool = new AttentionPool2d(stateDict, 'visual.attnpool', pool.spacialDim, pool.width, pool.heads, pool.outputDim);
  }

  private forwardChunk(views: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let x = this.stem.forward(views);
      for (const stage of this.layers) {
        for (const block of stage) {
          // Free each block's input as soon as the next exists: peak memory is then about one block's worth.
          const next = block.forward(x);
          x.dispose();
          x = next;
        }
      }
      return this.attnpool.forward(x);
    });
  }

  /** views: [N, S, S, 3] normalised NHWC → unnormalised image features [N, embedDim]. */
  encode(views: tf.Tensor4D): tf.Tensor2D {
    return encodeInChunks(views, this.inputResolution, this.chunkSize, (chunk) => this.forwardChunk(chunk));
  }

  dispose(): void {
    this.stem.dispose();
    for (const stage of this.layers) for (const block of stage) block.dispose();
    this.attnpool.dispose();
  }
}
