import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../weights/host-tensor.js';
import { AttentionPool2d } from './attention-pool.js';
import type { ModelArch } from './model-weights.js';
import { Bottleneck, ResNetStem } from './resnet.js';
import { attentionPoolShape, bottleneckPlan } from './resnet-plan.js';

export interface ImageTowerOptions {
  /** Views per forward pass; bounds the activation memory (RN50 at 224 px: about 50 MB per view). */
  chunkSize?: number;
}

/**
 * OpenAI's ModifiedResNet (any depth and width), inference only: BatchNorm is folded into the convolutions at
 * build time and no gradient ever flows here (TPT tunes only the text context).
 */
export class ImageTower {
  readonly inputResolution: number;
  readonly outputDim: number;
  private readonly stem: ResNetStem;
  private readonly layers: Bottleneck[][];
  private readonly attnpool: AttentionPool2d;
  private readonly chunkSize: number;

  constructor(stateDict: StateDict, arch: ModelArch, options: ImageTowerOptions = {}) {
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
    const [n, h, w, c] = views.shape;
    if (h !== this.inputResolution || w !== this.inputResolution || c !== 3) {
      throw new Error(`image tower expects [N, ${this.inputResolution}, ${this.inputResolution}, 3] views, got [${views.shape.join(', ')}]`);
    }
    if (n <= this.chunkSize) return this.forwardChunk(views);
    const parts: tf.Tensor2D[] = [];
    try {
      for (let start = 0; start < n; start += this.chunkSize) {
        const size = Math.min(this.chunkSize, n - start);
        // Each chunk's activations are freed before the next one starts; only its [size, E] output survives.
        parts.push(tf.tidy(() => this.forwardChunk(tf.slice(views, [start, 0, 0, 0], [size, h, w, c]))));
      }
      return tf.concat(parts, 0);
    } finally {
      for (const p of parts) p.dispose();
    }
  }

  dispose(): void {
    this.stem.dispose();
    for (const stage of this.layers) for (const block of stage) block.dispose();
    this.attnpool.dispose();
  }
}
