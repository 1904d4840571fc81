import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../weights/host-tensor.js';
import { AttentionPool2d } from './attention-pool.js';
import type { ResNetClipArch } from '../weights/arch.js';
import { encodeInChunks, type ImageEncoder, type ImageTowerOptions } from './image-encoder.js';
import { Bottleneck, ResNetStem } from './resnet.js';

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
    this.stem = new ResNetStem(stateDict, 'visual');
    let inplanes = width;
    this.layers = arch.visionLayers.map((blocks, stage) => {
      const planes = width * 2 ** stage;
      const stride = stage === 0 ? 1 : 2;
      const stageBlocks: Bottleneck[] = [];
      for (let b = 0; b < blocks; b++) {
        stageBlocks.push(new Bottleneck(stateDict, `visual.layer${stage + 1}.${b}`, inplanes, planes, b === 0 ? stride : 1));
        inplanes = planes * Bottleneck.expansion;
      }
      return stageBlocks;
    });
    // The stem halves twice and three stages halve once each: 32x in all.
    this.attnpool = new AttentionPool2d(stateDict, 'visual.attnpool', Math.floor(arch.imageResolution / 32), width * 32, arch.visionHeads, arch.embedDim);
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
