import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../weights/host-tensor.js';
import { FrozenLinear, takeParam, plainTensor } from './model-weights.js';
import type { ModelArch } from './model-weights.js';
import { planTokenPrompts } from './prompt-plan.js';
import { TokenEmbedding } from './prompt-setup.js';
import { causalMask, layerNorm, loadLayerNorm, ResidualAttentionBlock } from './transformer-block.js';
import type { LayerNormParams, PrefixKeyValues } from './transformer-block.js';

/**
 * Disposes a layer's input once its output exists. Safe under a gradient tape, which keeps its own
 * references to whatever the backward pass needs.
 */
function replace(previous: tf.Tensor3D, next: tf.Tensor3D): tf.Tensor3D {
  previous.dispose();
  return next;
}

/** [rows, cols] → [cols, rows] on the host. */
function transposeHost(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/**
 * CLIP's text transformer as used by CoOp's TextEncoder: prompt embeddings (already built by the prompt
 * learner) + positional embedding → causal pre-LN blocks → ln_final at the EOT token → text_projection.
 * Its weights are plain tensors (never variables), so gradients can only reach the prompt context.
 */
export class TextTower {
  readonly width: number;
  readonly contextLength: number;
  readonly embedDim: number;
  readonly vocabSize: number;
  /** Host rows of token_embedding [vocab, W]: prompts only ever need constant rows of it. */
  private readonly tokenEmbedding: TokenEmbedding;
  private readonly positional: tf.Tensor2D;
  private readonly blocks: ResidualAttentionBlock[];
  private readonly lnFinal: LayerNormParams;
  private readonly textProjection: FrozenLinear;
  private readonly masks = new Map<number, tf.Tensor2D>();

  constructor(stateDict: StateDict, arch: ModelArch) {
    this.width = arch.transformerWidth;
    this.contextLength = arch.contextLength;
    this.embedDim = arch.embedDim;
    this.vocabSize = arch.vocabSize;
    this.tokenEmbedding = new TokenEmbedding(takeParam(stateDict, 'token_embedding.weight', [arch.vocabSize, arch.transformerWidth]).data, arch.vocabSize, arch.transformerWidth, arch.contextLength);
    this.positional = plainTensor(stateDict, 'positional_embedding', [arch.contextLength, arch.transformerWidth]) as tf.Tensor2D;
    this.blocks = [];
    for (let i = 0; i < arch.transformerLayers; i++) {
      this.blocks.push(new ResidualAttentionBlock(stateDict, `transformer.resblocks.${i}`, arch.transformerWidth, arch.transformerHeads));
    }
    this.lnFinal = loadLayerNorm(stateDict, 'ln_final', arch.transformerWidth);
    // text_projection is an nn.Parameter used as x @ P, so it is [in, out]; FrozenLinear takes PyTorch's
    // Linear layout [out, in], hence the host transpose.
    const projection = takeParam(stateDict, 'text_projection', [arch.transformerWidth, arch.embedDim]);
    this.textProjection = new FrozenLinear({ data: transposeHost(projection.data, arch.transformerWidth, arch.embedDim), shape: [arch.embedDim, arch.transformerWidth] }, undefined);
  }

  /** Rows of token_embedding for the given ids, concatenated: [ids.length · W] on the host. */
  embedTokens(ids: ArrayLike<number>): Float32Array {
    return this.tokenEmbedding.embedTokens(ids);
  }

  private mask(length: number): tf.Tensor2D {
    let m = this.masks.get(length);
    if (!m) {
      m = tf.keep(causalMask(length));
      this.masks.set(length, m);
    }
    return m;
  }

  /** Positional embedding rows [start, start+length) as [length, W]. */
  private positions(start: number, length: number): tf.Tensor2D {
    return tf.slice(this.positional, [start, 0], [length, this.width]);
  }

  /** ln_final and text_projection of EOT rows [n, W] → [n, E]. */
  private project(eotRows: tf.Tensor2D): tf.Tensor2D {
    return this.textProjection.forward(layerNorm(eotRows, this.lnFinal));
  }

  /**
   * The seed's TextEncoder: prompts [C, L, W] (L = context length, padding included) and each prompt's EOT
   * index. The EOT row is picked with a one-hot matMul because gather has no gradient on wasm.
   */
  encodeFull(prompts: tf.Tensor3D, eotIndex: readonly number[]): tf.Tensor2D {
    return tf.tidy(() => {
      const [c, l, w] = prompts.shape;
      let x = tf.add(prompts, this.positions(0, l)) as tf.Tensor3D;
      for (const block of this.blocks) x = replace(x, block.forward(x, this.mask(l)));
      const oneHot = new Float32Array(c * l);
      eotIndex.forEach((e, i) => (oneHot[i * l + e] = 1));
      const eotRows: tf.Tensor2D = tf.reshape(tf.matMul(tf.tensor3d(oneHot, [c, 1, l]), x), [c, w]); // [C, 1, W] → [C, W]
      return this.project(eotRows);
    });
  }

  /**
   * Runs the prompt prefix shared by every class, [P, W] at positions 0..P−1, once; returns each layer's keys
   * and values for the classes' own tokens to attend to. Causality makes the prefix independent of what follows.
   */
  runSharedPrefix(prefix: tf.Tensor2D): PrefixKeyValues[] {
    const [p, w] = prefix.shape;
    let x = tf.reshape(tf.add(prefix, this.positions(0, p)), [1, p, w]) as tf.Tensor3D; // [1, P, W]
    const perLayer: PrefixKeyValues[] = [];
    for (const block of this.blocks) {
      const step = block.forwardWithKeyValues(x, this.mask(p));
      perLayer.push({ keys: step.keys, values: step.values }); // [heads, P, d] each (batch of one)
      x = step.out;
    }
    return perLayer;
  }

  /**
   * Prompts that all end at the same length: own tokens [n, R, W] at positions start..start+R−1, the last of
   * them being each prompt's EOT. With `prefix` (from runSharedPrefix, start = P) they attend to it; with none,
   * start must be 0. Nothing after the EOT is computed: under the causal mask it cannot change the EOT row.
   */
  encodeEnding(ownTokens: tf.Tensor3D, start: number, prefix: PrefixKeyValues[] | null): tf.Tensor2D {
    return tf.tidy(() => {
      const [n, r, w] = ownTokens.shape;
      let x = tf.add(ownTokens, this.positions(start, r)) as tf.Tensor3D;
      this.blocks.forEach((block, i) => {
        const layerPrefix = prefix?.[i];
        x = replace(x, layerPrefix ? block.forwardAfterPrefix(x, layerPrefix, this.mask(r)) : block.forward(x, this.mask(r)));
      });
      const eotRows: tf.Tensor2D = tf.reshape(tf.slice(x, [0, r - 1, 0], [n, 1, w]), [n, w]); // [n, 1, W] → [n, W]
      return this.project(eotRows);
    });
  }

  /**
   * Plain tokenised prompts (clip.tokenize rows, no context vectors) → unnormalised features [n, E], in their
   * order: CLIP's encode_text. With `shortcuts`, the plan of planTokenPrompts (the common leading tokens run
   * once, each prompt up to its EOT, as for CoOp prompts); without, every prompt in full. Forward only.
   */
  encodeTokens(tokens: readonly Int32Array[], shortcuts: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const n = tokens.length;
      const w = this.width;
      const { plan, eotIndex } = planTokenPrompts(tokens);
      if (!shortcuts) {
        const rows = new Float32Array(n * this.contextLength * w);
        tokens.forEach((ids, i) => rows.set(this.embedTokens(ids), i * this.contextLength * w));
        return this.encodeFull(tf.tensor3d(rows, [n, this.contextLength, w]), eotIndex);
      }
      const p = plan.prefixLength;
      const prefix = p > 0 ? this.runSharedPrefix(tf.tensor2d(this.embedTokens(plan.prefixSlots), [p, w])) : null;
      const perGroup = plan.groups.map((g) => {
        const rows = new Float32Array(g.classes.length * g.length * w);
        g.slots.forEach((slots, j) => rows.set(this.embedTokens(slots), j * g.length * w));
        return this.encodeEnding(tf.tensor3d(rows, [g.classes.length, g.length, w]), p, prefix);
      });
      const inGroupOrder = perGroup.length === 1 ? perGroup[0]! : tf.concat(perGroup, 0);
      // Group order → prompt order: a gather of rows (forward only, so no gradient is needed through it).
      return tf.gather(inGroupOrder, tf.tensor1d(plan.rowOfClass, 'int32')) as tf.Tensor2D;
    });
  }

  dispose(): void {
    this.positional.dispose();
    for (const block of this.blocks) block.dispose();
    this.lnFinal.weight.dispose();
    this.lnFinal.bias.dispose();
    this.textProjection.dispose();
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}
