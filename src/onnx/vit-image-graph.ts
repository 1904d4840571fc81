import { takeParam } from '../model/host-params.js';
import type { ViTClipArch } from '../weights/arch.js';
import type { StateDict } from '../weights/host-tensor.js';
import { OnnxGraph } from './graph-builder.js';
import { IMAGE_INPUT, IMAGE_OUTPUT } from './image-io.js';
import { GraphOps } from './graph-ops.js';
import type { RowLayout } from './layout-attention-graph.js';
import { BlockWeights, ResidualBlockGraph } from './residual-block-graph.js';

/**
 * OpenAI's VisionTransformer image tower as one ONNX graph, the same function as the tfjs tower
 * (src/model/vit.ts): conv1 patches, the class token prepended, positional embedding, ln_pre, the residual
 * blocks without a mask (the text tower's block graph, one group of V sequences), ln_post on the class token,
 * `@ proj`, L2 normalisation. The last block computes only the class token's row: nothing reads the others.
 *
 * Input `views` [V, S, S, 3] (V symbolic), output `features` [V, E].
 */
export function buildViTImageGraph(stateDict: StateDict, arch: ViTClipArch): Uint8Array {
  const g = new OnnxGraph('clip_vit_image_tower');
  const ops = new GraphOps(g);
  const w = arch.visionWidth;
  const p = arch.visionPatchSize;
  const size = arch.imageResolution;
  const grid = Math.floor(size / p);
  const tokens = grid * grid + 1;
  const param = (name: string, shape: number[]) => takeParam(stateDict, name, shape).data;

  const views = g.input(IMAGE_INPUT, ['views', size, size, 3]);
  const nchw = ops.transpose(views, [0, 3, 1, 2]); // [V, S, S, 3] → [V, 3, S, S]
  const conv = g.initializer('conv1', param('visual.conv1.weight', [w, 3, p, p]), [w, 3, p, p]);
  const patches = g.op('Conv', [nchw, conv], { kernel_shape: [p, p], strides: [p, p] }); // [V, W, grid, grid]
  // Row-major over (row, column), the order of PyTorch's reshape of [V, W, grid, grid] to [V, W, grid²].
  const patchRows = ops.transpose(ops.reshape(patches, [0, w, grid * grid]), [0, 2, 1]); // [V, grid², W]
  // The class token for every view: [1, 1, W] expanded to [V, 1, W] (V comes from the input's shape).
  const viewCount = g.op('Slice', [g.op('Shape', [views]), g.constInt64([0]), g.constInt64([1])]); // [1] = [V]
  const classShape = ops.concat([viewCount, g.constInt64([1, w])], 0); // [V, 1, W]
  const classTokens = g.op('Expand', [g.constFloat(param('visual.class_embedding', [w]), [1, 1, w], 'class_embedding'), classShape]);
  const positional = g.constFloat(param('visual.positional_embedding', [tokens, w]), [tokens, w], 'positional_embedding');
  const embedded = ops.add(ops.concat([classTokens, patchRows], 1), positional); // [V, T, W]

  let x = ops.layerNorm(ops.reshape(embedded, [-1, w]), { weight: param('visual.ln_pre.weight', [w]), bias: param('visual.ln_pre.bias', [w]) }, 'ln_pre'); // [V·T, W]
  const layout: RowLayout = { prefixLength: 0, groups: [{ count: 'views', length: tokens }], causal: false };
  for (let l = 0; l < arch.visionLayers; l++) {
    const weights = new BlockWeights(stateDict, `visual.transformer.resblocks.${l}`, w, arch.visionHeads);
    const last = l === arch.visionLayers - 1;
    const block = new ResidualBlockGraph(g, weights, layout, `vit${l}`);
    // The last block: only each view's class token (row 0) → [V, W].
    x = last ? block.forward(x, { queryRows: [0] }).out : block.forwardFused(x);
  }
  const classRows = ops.layerNorm(x, { weight: param('visual.ln_post.weight', [w]), bias: param('visual.ln_post.bias', [w]) }, 'ln_post'); // [V, W]
  const proj = g.initializer('proj', param('visual.proj', [w, arch.embedDim]), [w, arch.embedDim]); // already [in, out]: used as x @ proj
  g.output(ops.l2NormalizeRows(ops.matmul(classRows, proj)), IMAGE_OUTPUT, ['views', arch.embedDim]);
  return g.toBytes();
}
