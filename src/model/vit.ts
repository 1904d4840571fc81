import * as tf from '@tensorflow/tfjs-core';
import type { ViTClipArch } from '../weights/arch.js';
import type { StateDict } from '../weights/host-tensor.js';
import { encodeInChunks, type ImageEncoder, type ImageTowerOptions } from './image-encoder.js';
import { plainTensor, takeParam } from './model-weights.js';
import { layerNorm, loadLayerNorm, ResidualAttentionBlock, type LayerNormParams } from './transformer-block.js';

/**
 * OpenAI's VisionTransformer image tower (ViT-B/32, ViT-B/16, ViT-L/14, …), inference only: patches by a
 * stride-p convolution, the class token prepended, positional embedding, ln_pre, residual attention blocks
 * without a mask (every token sees every token), ln_post of the class token, then `@ proj`. The blocks are the
 * text tower's own ResidualAttentionBlock; no gradient ever flows here (TPT tunes only the text context).
 */
export class VisionTransformerTower implements ImageEncoder {
  readonly inputResolution: number;
  readonly outputDim: number;
  private readonly width: number;
  private readonly tokens: number;
  /** conv1 as tfjs wants it: [p, p, 3, width] (PyTorch's is [width, 3, p, p]). */
  private readonly patchFilter: tf.Tensor4D;
  private readonly patchSize: number;
  /** [1, 1, width] */
  private readonly classEmbedding: tf.Tensor3D;
  /** [grid² + 1, width] */
  private readonly positional: tf.Tensor2D;
  private readonly lnPre: LayerNormParams;
  private readonly blocks: ResidualAttentionBlock[] = [];
  private readonly lnPost: LayerNormParams;
  /** [width, E]: an nn.Parameter used as x @ proj, already [in, out]. */
  private readonly proj: tf.Tensor2D;
  private readonly chunkSize: number;

  constructor(stateDict: StateDict, arch: ViTClipArch, options: ImageTowerOptions = {}) {
    const w = arch.visionWidth;
    const p = arch.visionPatchSize;
    const grid = Math.floor(arch.imageResolution / p);
    this.width = w;
    this.tokens = grid * grid + 1;
    this.patchSize = p;
    this.inputResolution = arch.imageResolution;
    this.outputDim = arch.embedDim;
    this.chunkSize = Math.max(1, options.chunkSize ?? 16);
    const conv = takeParam(stateDict, 'visual.conv1.weight', [w, 3, p, p]);
    this.patchFilter = tf.tidy(() => tf.transpose(tf.tensor4d(conv.data, [w, 3, p, p]), [2, 3, 1, 0])); // [out, in, kh, kw] → [kh, kw, in, out]
    this.classEmbedding = tf.tensor3d(takeParam(stateDict, 'visual.class_embedding', [w]).data, [1, 1, w]);
    this.positional = plainTensor(stateDict, 'visual.positional_embedding', [this.tokens, w]) as tf.Tensor2D;
    this.lnPre = loadLayerNorm(stateDict, 'visual.ln_pre', w);
    for (let l = 0; l < arch.visionLayers; l++) {
      this.blocks.push(new ResidualAttentionBlock(stateDict, `visual.transformer.resblocks.${l}`, w, arch.visionHeads));
    }
    this.lnPost = loadLayerNorm(stateDict, 'visual.ln_post', w);
    this.proj = plainTensor(stateDict, 'visual.proj', [w, arch.embedDim]) as tf.Tensor2D;
  }

  private forwardChunk(views: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const n = views.shape[0];
      const patches = tf.conv2d(views, this.patchFilter, this.patchSize, 'valid'); // [N, grid, grid, W]
      // Row-major over (row, column), the order of PyTorch's reshape of [N, W, grid, grid] to [N, W, grid²].
      const flat = tf.reshape(patches, [n, this.tokens - 1, this.width]); // [N, grid², W]
      const classTokens = tf.tile(this.classEmbedding, [n, 1, 1]); // [N, 1, W]
      let x = layerNorm(tf.add(tf.concat([classTokens, flat], 1), this.positional) as tf.Tensor3D, this.lnPre); // [N, grid²+1, W]
      for (const block of this.blocks) {
        // Each block in its own tidy: its keys and values (returned for the text tower's prefix path) go at once.
        const next = tf.tidy(() => block.forward(x));
        x.dispose();
        x = next;
      }
      const classRows = tf.reshape(tf.slice(x, [0, 0, 0], [n, 1, this.width]), [n, this.width]); // [N, 1, W] → [N, W]
      return tf.matMul(layerNorm(classRows, this.lnPost), this.proj); // [N, W] × [W, E]
    });
  }

  /** views: [N, S, S, 3] normalised NHWC → unnormalised image features [N, embedDim]. */
  encode(views: tf.Tensor4D): tf.Tensor2D {
    return encodeInChunks(views, this.inputResolution, this.chunkSize, (chunk) => this.forwardChunk(chunk));
  }

  dispose(): void {
    tf.dispose([this.patchFilter, this.classEmbedding, this.positional, this.proj, this.lnPre.weight, this.lnPre.bias, this.lnPost.weight, this.lnPost.bias]);
    for (const block of this.blocks) block.dispose();
  }
}
