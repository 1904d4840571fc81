import { TptError } from '../errors.js';

/** A state_dict's names and shapes, all architecture inference needs (no tensor data). */
export type Shapes = ReadonlyMap<string, readonly number[]>;

export function notClip(message: string, hint?: string): TptError {
  return new TptError('WEIGHTS_NOT_CLIP', message, {
    hint: hint ?? 'Pass an OpenAI CLIP checkpoint (RN50.pt, ViT-B-16.pt, … or its state_dict) or a folder written by `tpt convert`.',
  });
}

export function dim(shapes: Shapes, key: string, axis: number): number {
  const shape = shapes.get(key);
  if (!shape) throw notClip(`the checkpoint has no "${key}", so it is not a CLIP model`);
  const d = axis < 0 ? shape[shape.length + axis] : shape[axis];
  if (d === undefined) throw notClip(`"${key}" has shape [${shape.join(', ')}], too few dimensions for a CLIP model`);
  return d;
}

/** `len(set(k.split(".")[i] for k in state_dict if k.startswith(prefix)))`, as build_model counts blocks. */
export function countBlocks(shapes: Shapes, prefix: string, index = 2): number {
  const ids = new Set<string>();
  for (const k of shapes.keys()) if (k.startsWith(prefix)) ids.add(k.split('.')[index] ?? '');
  return ids.size;
}

/** √(rows − 1) for a positional embedding of a square grid plus one token, or an error naming the key. */
export function gridOf(shapes: Shapes, key: string): number {
  const tokens = dim(shapes, key, 0);
  const grid = Math.round(Math.sqrt(tokens - 1));
  if (grid * grid + 1 !== tokens) throw notClip(`${key} has ${tokens} rows, not a square grid plus one`);
  return grid;
}

/** The parameters of one pre-LN residual attention block of width `w` (text and ViT towers share them). */
export function residualBlockShapes(out: Map<string, number[]>, prefix: string, w: number): void {
  out.set(`${prefix}.attn.in_proj_weight`, [3 * w, w]);
  out.set(`${prefix}.attn.in_proj_bias`, [3 * w]);
  out.set(`${prefix}.attn.out_proj.weight`, [w, w]);
  out.set(`${prefix}.attn.out_proj.bias`, [w]);
  out.set(`${prefix}.ln_1.weight`, [w]);
  out.set(`${prefix}.ln_1.bias`, [w]);
  out.set(`${prefix}.mlp.c_fc.weight`, [4 * w, w]);
  out.set(`${prefix}.mlp.c_fc.bias`, [4 * w]);
  out.set(`${prefix}.mlp.c_proj.weight`, [w, 4 * w]);
  out.set(`${prefix}.mlp.c_proj.bias`, [w]);
  out.set(`${prefix}.ln_2.weight`, [w]);
  out.set(`${prefix}.ln_2.bias`, [w]);
}
