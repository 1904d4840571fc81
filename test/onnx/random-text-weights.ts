import type { StateDict } from '../../src/weights/host-tensor.js';
import type { ModelArch } from '../../src/model/model-weights.js';
import { RN50_ARCH } from '../weights/expected.js';

/** RN50 (its text transformer: 77 tokens, width 512, 8 heads, 12 layers, 1024-wide embedding). */
export const RN50_TEXT_ARCH: ModelArch = RN50_ARCH;

/** Seeded standard normal samples (mulberry32 + Box–Muller): the same weights on every run. */
function normals(seed: number): (count: number, std: number, mean?: number) => Float32Array {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (count, std, mean = 0) => {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - uniform()));
      const a = 2 * Math.PI * uniform();
      out[i] = mean + std * r * Math.cos(a);
      if (i + 1 < count) out[i + 1] = mean + std * r * Math.sin(a);
    }
    return out;
  };
}

/**
 * Text-tower weights of the given shape drawn as CLIP initialises them (attn W^-½, c_fc (2W)^-½, residual
 * projections W^-½·(2L)^-½), with LayerNorm gains and all biases perturbed so no parameter is trivially 1 or 0.
 */
export function randomTextStateDict(arch: ModelArch, seed = 1): StateDict {
  const w = arch.transformerWidth;
  const layers = arch.transformerLayers;
  const draw = normals(seed);
  const sd: StateDict = new Map();
  const put = (name: string, shape: number[], std: number, mean = 0) =>
    sd.set(name, { dtype: 'float32', shape, data: draw(shape.reduce((a, b) => a * b, 1), std, mean) });
  const attnStd = w ** -0.5;
  const projStd = w ** -0.5 * (2 * layers) ** -0.5;
  const fcStd = (2 * w) ** -0.5;
  put('token_embedding.weight', [arch.vocabSize, w], 0.02);
  put('positional_embedding', [arch.contextLength, w], 0.01);
  for (let l = 0; l < layers; l++) {
    const p = `transformer.resblocks.${l}`;
    put(`${p}.ln_1.weight`, [w], 0.1, 1);
    put(`${p}.ln_1.bias`, [w], 0.02);
    put(`${p}.attn.in_proj_weight`, [3 * w, w], attnStd);
    put(`${p}.attn.in_proj_bias`, [3 * w], 0.02);
    put(`${p}.attn.out_proj.weight`, [w, w], projStd);
    put(`${p}.attn.out_proj.bias`, [w], 0.02);
    put(`${p}.ln_2.weight`, [w], 0.1, 1);
    put(`${p}.ln_2.bias`, [w], 0.02);
    put(`${p}.mlp.c_fc.weight`, [4 * w, w], fcStd);
    put(`${p}.mlp.c_fc.bias`, [4 * w], 0.02);
    put(`${p}.mlp.c_proj.weight`, [w, 4 * w], projStd);
    put(`${p}.mlp.c_proj.bias`, [w], 0.02);
  }
  put('ln_final.weight', [w], 0.1, 1);
  put('ln_final.bias', [w], 0.02);
  put('text_projection', [w, arch.embedDim], w ** -0.5);
  return sd;
}
