import type { StateDict } from '../weights/host-tensor.js';
import { takeParam } from '../model/model-weights.js';
import { OnnxGraph } from './graph-builder.js';
import { GraphOps, transposeHost } from './graph-ops.js';
import { layoutRows, type RowLayout } from './layout-attention-graph.js';
import { BlockWeights, ResidualBlockGraph, TRACE_FIELDS, type BlockTrace } from './residual-block-graph.js';

/**
 * CLIP's text tower as two ONNX graphs for one prompt-plan shape: the FORWARD graph (prompt embeddings →
 * L2-normalised features) and the BACKWARD graph (dL/d(features) → dL/d(prompt embeddings)). The host builds
 * the embeddings and chains the embedding gradient back to ctx (src/model/prompt-plan.ts).
 *
 * Inputs, as the plan lays out the prompts: `prefix` [P, W], the rows every class shares (only when P > 0),
 * at positions 0..P−1; and per group i, `group_i` [n_i, R_i, W], each class's own rows at positions
 * P..P+R_i−1. Every group's rows attend to the prefix's keys/values and causally to their own. The features
 * come from each class's EOT row (`eotRow` of its group, the last row when prompts are cut at their EOT),
 * in group order: the host permutes them to class order.
 *
 * The backward graph reads the forward's saved values (`traceOutputs`: each block's input, q, k, v, the
 * attention residual and c_fc's output, and the last block's output at the EOT rows) either as inputs
 * ('saved') or by running the forward inside itself ('recompute'). Saved values cost one host round trip of
 * ~9·N·W floats per layer; recomputing costs a second forward pass.
 */

export interface TextTowerShape {
  width: number;
  heads: number;
  layers: number;
  embedDim: number;
  contextLength: number;
}

export interface TextGraphGroup {
  count: number;
  length: number;
  /** Row of each member's EOT token among its `length` rows. */
  eotRow: number;
}

export interface TextGraphLayout {
  prefixLength: number;
  groups: readonly TextGraphGroup[];
}

export type BackwardMode = 'saved' | 'recompute';

/** The text tower's frozen parameters on the host (PyTorch layouts). */
export class TextWeights {
  /** [contextLength, W] */
  readonly positional: Float32Array;
  readonly blocks: BlockWeights[];
  readonly lnFinal: { weight: Float32Array; bias: Float32Array };
  /** [W, E], used as x·P. */
  readonly textProjection: Float32Array;

  constructor(stateDict: StateDict, readonly shape: TextTowerShape) {
    const { width: w, contextLength, embedDim, layers, heads } = shape;
    this.positional = takeParam(stateDict, 'positional_embedding', [contextLength, w]).data;
    this.blocks = Array.from({ length: layers }, (_, i) => new BlockWeights(stateDict, `transformer.resblocks.${i}`, w, heads));
    this.lnFinal = { weight: takeParam(stateDict, 'ln_final.weight', [w]).data, bias: takeParam(stateDict, 'ln_final.bias', [w]).data };
    this.textProjection = takeParam(stateDict, 'text_projection', [w, embedDim]).data;
  }
}

export const groupInput = (i: number): string => `group_${i}`;
export const groupGradient = (i: number): string => `d_group_${i}`;
export const traceName = (layer: number, field: string): string => `trace_${layer}_${field}`;
/** The last block's output at the EOT rows [C, W], ln_final's input. */
export const TRACE_FINAL = 'trace_final';

export function rowLayout(layout: TextGraphLayout): RowLayout {
  return { prefixLength: layout.prefixLength, groups: layout.groups.map((g) => ({ count: g.count, length: g.length })), causal: true };
}

const classCount = (layout: TextGraphLayout): number => layout.groups.reduce((n, g) => n + g.count, 0);

/** Every saved value's name and shape, in the order the forward graph outputs them. */
export function traceOutputs(shape: TextTowerShape, layout: TextGraphLayout): { name: string; dims: number[] }[] {
  const n = layoutRows(rowLayout(layout));
  const c = classCount(layout);
  const w = shape.width;
  const out: { name: string; dims: number[] }[] = [];
  for (let l = 0; l < shape.layers; l++) {
    const nq = l === shape.layers - 1 ? c : n;
    const dims: Record<(typeof TRACE_FIELDS)[number], number[]> = { x: [n, w], q: [nq, w], k: [n, w], v: [n, w], y: [nq, w], u: [nq, 4 * w] };
    for (const field of TRACE_FIELDS) out.push({ name: traceName(l, field), dims: dims[field] });
  }
  out.push({ name: TRACE_FINAL, dims: [c, w] });
  return out;
}

/** Declares the embedding inputs; returns x0 [N, W] = embeddings + positional embedding, prefix rows first. */
function embeddingInputs(g: OnnxGraph, ops: GraphOps, weights: TextWeights, layout: TextGraphLayout): string {
  const w = weights.shape.width;
  const p = layout.prefixLength;
  const positions = (start: number, length: number) =>
    g.initializer(g.fresh(`pos_${start}_${length}`), weights.positional.subarray(start * w, (start + length) * w), [length, w]);
  const rows: string[] = [];
  if (p > 0) rows.push(ops.add(g.input('prefix', [p, w]), positions(0, p))); // [P, W]
  layout.groups.forEach((grp, i) => {
    const own = ops.add(g.input(groupInput(i), [grp.count, grp.length, w]), positions(p, grp.length)); // [n, R, W] + [R, W]
    rows.push(ops.reshape(own, [grp.count * grp.length, w])); // [n·R, W]
  });
  return ops.concat(rows, 0);
}

/** The blocks over x0 [N, W]: the last one only at the EOT rows. Returns z [C, W] and every block's trace. */
function runBlocks(g: OnnxGraph, weights: TextWeights, layout: TextGraphLayout, x0: string): { z: string; traces: BlockTrace[]; blocks: ResidualBlockGraph[] } {
  const rows = rowLayout(layout);
  const last = weights.blocks.length - 1;
  const eotRows = layout.groups.map((grp) => grp.eotRow);
  const blocks = weights.blocks.map((b, l) => new ResidualBlockGraph(g, b, rows, `l${l}`));
  const traces: BlockTrace[] = [];
  let x = x0;
  blocks.forEach((block, l) => {
    const step = block.forward(x, { queryRows: l === last ? eotRows : undefined });
    traces.push(step.trace);
    x = step.out;
  });
  return { z: x, traces, blocks };
}

/** ln_final and text_projection of z [C, W] → unnormalised features [C, E]. */
function project(g: OnnxGraph, ops: GraphOps, weights: TextWeights, z: string): { normalized: string; features: string } {
  const { width: w, embedDim: e } = weights.shape;
  const normalized = ops.layerNorm(z, weights.lnFinal, 'ln_final'); // [C, W]
  const features = ops.matmul(normalized, g.initializer('text_projection', weights.textProjection, [w, e])); // [C, W] × [W, E]
  return { normalized, features };
}

/** f / ‖f‖ row-wise, and ‖f‖ [C, 1]. */
function l2Normalize(g: OnnxGraph, ops: GraphOps, f: string): { unit: string; norm: string } {
  const norm = g.op('Sqrt', [ops.sumLast(ops.mul(f, f))]);
  return { unit: g.op('Div', [f, norm]), norm };
}

/** The forward graph: embeddings → `features` [C, E] (group order); with `trace`, also every saved value. */
export function buildTextForward(weights: TextWeights, layout: TextGraphLayout, options: { trace: boolean }): OnnxGraph {
  const g = new OnnxGraph('text_forward');
  const ops = new GraphOps(g);
  const c = classCount(layout);
  const { z, traces } = runBlocks(g, weights, layout, embeddingInputs(g, ops, weights, layout));
  const { unit } = l2Normalize(g, ops, project(g, ops, weights, z).features);
  g.output(unit, 'features', [c, weights.shape.embedDim]);
  if (options.trace) {
    const dims = new Map(traceOutputs(weights.shape, layout).map((t) => [t.name, t.dims]));
    traces.forEach((t, l) => {
      for (const field of TRACE_FIELDS) g.output(t[field], traceName(l, field), dims.get(traceName(l, field))!);
    });
    g.output(z, TRACE_FINAL, dims.get(TRACE_FINAL)!);
  }
  return g;
}

/**
 * The backward graph: `d_features` [C, E] (group order) → `d_prefix` [P, W] and `d_group_i` [n_i, R_i, W].
 * 'saved' takes the forward's trace as inputs; 'recompute' takes the embeddings and runs the forward first.
 */
export function buildTextBackward(weights: TextWeights, layout: TextGraphLayout, mode: BackwardMode): OnnxGraph {
  const g = new OnnxGraph(`text_backward_${mode}`);
  const ops = new GraphOps(g);
  const { width: w, embedDim: e } = weights.shape;
  const c = classCount(layout);
  const rows = rowLayout(layout);
  const last = weights.blocks.length - 1;
  const eotRows = layout.groups.map((grp) => grp.eotRow);

  let z: string;
  let traces: BlockTrace[];
  let blocks: ResidualBlockGraph[];
  if (mode === 'recompute') {
    ({ z, traces, blocks } = runBlocks(g, weights, layout, embeddingInputs(g, ops, weights, layout)));
  } else {
    const dims = new Map(traceOutputs(weights.shape, layout).map((t) => [t.name, t.dims]));
    traces = weights.blocks.map((_, l) => {
      const t = {} as BlockTrace;
      for (const field of TRACE_FIELDS) t[field] = g.input(traceName(l, field), dims.get(traceName(l, field))!);
      return t;
    });
    z = g.input(TRACE_FINAL, dims.get(TRACE_FINAL)!);
    blocks = weights.blocks.map((b, l) => new ResidualBlockGraph(g, b, rows, `l${l}`));
  }
  const dUnit = g.input('d_features', [c, e]);

  // Normalisation: u = f/‖f‖ → df = (du − u·rowsum(u ⊙ du)) / ‖f‖.
  const { unit, norm } = l2Normalize(g, ops, project(g, ops, weights, z).features);
  const df = g.op('Div', [ops.sub(dUnit, ops.mul(unit, ops.sumLast(ops.mul(unit, dUnit)))), norm]); // [C, E]
  // Projection f = n·P → dn = df·Pᵀ; then ln_final's input gradient.
  const dNormalized = ops.matmul(df, g.initializer('text_projection_T', transposeHost(weights.textProjection, w, e), [e, w])); // [C, E] × [E, W]
  let dx = ops.layerNormBackward(z, dNormalized, weights.lnFinal, 'ln_final'); // [C, W]

  for (let l = last; l >= 0; l--) dx = blocks[l]!.backward(traces[l]!, dx, { queryRows: l === last ? eotRows : undefined }); // → [N, W]

  // The positional embedding is a constant added to the embeddings: their gradient is dx0 itself.
  const p = layout.prefixLength;
  const sizes = layout.groups.map((grp) => grp.count * grp.length);
  const parts = ops.split(dx, p > 0 ? [p, ...sizes] : sizes, 0);
  if (p > 0) g.output(parts[0]!, 'd_prefix', [p, w]);
  layout.groups.forEach((grp, i) => {
    const rows = parts[p > 0 ? i + 1 : i]!;
    g.output(ops.reshape(rows, [grp.count, grp.length, w]), groupGradient(i), [grp.count, grp.length, w]); // [n·R, W] → [n, R, W]
  });
  return g;
}
