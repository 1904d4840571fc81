import { TptError } from '../errors.js';

/** The hyper-parameters of an OpenAI CLIP with a ModifiedResNet image tower, as `build_model` derives them. */
export interface ClipArch {
  embedDim: number;
  imageResolution: number;
  visionLayers: [number, number, number, number];
  visionWidth: number;
  visionHeads: number;
  contextLength: number;
  vocabSize: number;
  transformerWidth: number;
  transformerHeads: number;
  transformerLayers: number;
}

/** Scalar buffers of OpenAI's JIT archives that `build_model` deletes before loading. */
export const DROPPED_SCALAR_BUFFERS = ['input_resolution', 'context_length', 'vocab_size'] as const;

type Shapes = ReadonlyMap<string, readonly number[]>;

function notClip(message: string, hint?: string): TptError {
  return new TptError('WEIGHTS_NOT_CLIP', message, {
    hint: hint ?? 'Pass an OpenAI CLIP ResNet checkpoint (RN50.pt or its state_dict) or a folder written by `tpt convert`.',
  });
}

function dim(shapes: Shapes, key: string, axis: number): number {
  const shape = shapes.get(key);
  if (!shape) throw notClip(`the checkpoint has no "${key}", so it is not a CLIP model`);
  const d = axis < 0 ? shape[shape.length + axis] : shape[axis];
  if (d === undefined) throw notClip(`"${key}" has shape [${shape.join(', ')}], too few dimensions for a CLIP model`);
  return d;
}

/** `len(set(k.split(".")[2] for k in state_dict if k.startswith(prefix)))`, as build_model counts blocks. */
function countBlocks(shapes: Shapes, prefix: string): number {
  const ids = new Set<string>();
  for (const k of shapes.keys()) if (k.startsWith(prefix)) ids.add(k.split('.')[2] ?? '');
  return ids.size;
}

/**
 * The architecture of a ResNet CLIP from its state_dict shapes, exactly as OpenAI's `build_model` infers it:
 * block counts from key names, width from `visual.layer1.0.conv1.weight`, input resolution from the
 * attention pool's positional embedding ((√(tokens−1))·32), heads as width·32/64 (vision) and width/64 (text).
 * Then every key and shape is checked against that architecture, as nanoGPT's `from_pretrained` does.
 */
export function inferClipArch(shapes: Shapes): ClipArch {
  if (shapes.has('visual.proj')) {
    throw new TptError('WEIGHTS_VIT_UNSUPPORTED', 'this is a Vision Transformer CLIP checkpoint; only ResNet CLIP is supported', {
      hint: "Use OpenAI's RN50.pt (or another ResNet CLIP: RN101, RN50x4, …).",
    });
  }
  const counts = [1, 2, 3, 4].map((b) => countBlocks(shapes, `visual.layer${b}.`));
  if (counts.some((c) => c === 0)) {
    throw notClip(`the checkpoint lacks visual.layer1…4 blocks (found ${counts.join(', ')}), so it is not a ResNet CLIP model`);
  }
  const visionWidth = dim(shapes, 'visual.layer1.0.conv1.weight', 0);
  const tokens = dim(shapes, 'visual.attnpool.positional_embedding', 0);
  const outputWidth = Math.round(Math.sqrt(tokens - 1));
  if (outputWidth * outputWidth + 1 !== tokens) {
    throw notClip(`visual.attnpool.positional_embedding has ${tokens} rows, not a square grid plus one`);
  }
  const transformerWidth = dim(shapes, 'ln_final.weight', 0);
  const arch: ClipArch = {
    embedDim: dim(shapes, 'text_projection', 1),
    imageResolution: outputWidth * 32,
    visionLayers: counts as [number, number, number, number],
    visionWidth,
    visionHeads: Math.floor((visionWidth * 32) / 64),
    contextLength: dim(shapes, 'positional_embedding', 0),
    vocabSize: dim(shapes, 'token_embedding.weight', 0),
    transformerWidth,
    transformerHeads: Math.floor(transformerWidth / 64),
    transformerLayers: countBlocks(shapes, 'transformer.resblocks.'),
  };
  assertBuildable(arch);
  assertClipShapes(shapes, arch);
  return arch;
}

/**
 * `build_model` derives attention heads from widths (text: width // 64, vision: width·32 // 64) and
 * nn.MultiheadAttention needs at least one head that divides the width; shapes that break this build no
 * model in PyTorch either (a division by zero or an assertion there), so they are refused by name here.
 */
function assertBuildable(arch: ClipArch): void {
  const unbuildable = (why: string) =>
    new TptError('WEIGHTS_ARCH_UNSUPPORTED', `unsupported architecture: ${why}, so OpenAI's build_model cannot build this checkpoint`, {
      hint: 'Pass a checkpoint of a released CLIP (RN50, RN101, RN50x4, …) or one trained with widths that are multiples of 64.',
    });
  const attention = [
    ['text', arch.transformerWidth, arch.transformerHeads, 'ln_final.weight'],
    ['image attention pool', arch.visionWidth * 32, arch.visionHeads, 'visual.layer1.0.conv1.weight ×32'],
  ] as const;
  for (const [tower, width, heads, source] of attention) {
    if (heads < 1) throw unbuildable(`the ${tower} width is ${width} (from ${source}), below 64, which gives 0 attention heads`);
    if (width % heads !== 0) throw unbuildable(`the ${tower} width ${width} (from ${source}) is not divisible by its ${heads} attention heads`);
  }
}

/**
 * Every state_dict entry of `CLIP(...)` for a ResNet architecture with its shape, in PyTorch's module order
 * (the model definition: ModifiedResNet stem, 4 bottleneck layers, attention pool; text transformer).
 */
export function expectedClipShapes(arch: ClipArch): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const bn = (name: string, c: number) => {
    for (const p of ['weight', 'bias', 'running_mean', 'running_var']) out.set(`${name}.${p}`, [c]);
    out.set(`${name}.num_batches_tracked`, []);
  };
  const w = arch.visionWidth;
  // ModifiedResNet: three stem convolutions (3 → w/2 → w/2 → w), then bottlenecks with 4x expansion
  out.set('visual.conv1.weight', [w / 2, 3, 3, 3]);
  bn('visual.bn1', w / 2);
  out.set('visual.conv2.weight', [w / 2, w / 2, 3, 3]);
  bn('visual.bn2', w / 2);
  out.set('visual.conv3.weight', [w, w / 2, 3, 3]);
  bn('visual.bn3', w);
  let inplanes = w;
  arch.visionLayers.forEach((blocks, i) => {
    const planes = w * 2 ** i;
    for (let b = 0; b < blocks; b++) {
      const p = `visual.layer${i + 1}.${b}`;
      out.set(`${p}.conv1.weight`, [planes, inplanes, 1, 1]);
      bn(`${p}.bn1`, planes);
      out.set(`${p}.conv2.weight`, [planes, planes, 3, 3]);
      bn(`${p}.bn2`, planes);
      out.set(`${p}.conv3.weight`, [planes * 4, planes, 1, 1]);
      bn(`${p}.bn3`, planes * 4);
      const stride = b === 0 && i > 0 ? 2 : 1;
      if (stride > 1 || inplanes !== planes * 4) {
        // downsample = (AvgPool2d "-1", Conv2d "0", BatchNorm2d "1"); the pool has no parameters
        out.set(`${p}.downsample.0.weight`, [planes * 4, inplanes, 1, 1]);
        bn(`${p}.downsample.1`, planes * 4);
      }
      inplanes = planes * 4;
    }
  });
  const featureDim = w * 32;
  const grid = arch.imageResolution / 32;
  out.set('visual.attnpool.positional_embedding', [grid * grid + 1, featureDim]);
  for (const proj of ['k_proj', 'q_proj', 'v_proj']) {
    out.set(`visual.attnpool.${proj}.weight`, [featureDim, featureDim]);
    out.set(`visual.attnpool.${proj}.bias`, [featureDim]);
  }
  out.set('visual.attnpool.c_proj.weight', [arch.embedDim, featureDim]);
  out.set('visual.attnpool.c_proj.bias', [arch.embedDim]);
  const t = arch.transformerWidth;
  for (let l = 0; l < arch.transformerLayers; l++) {
    const p = `transformer.resblocks.${l}`;
    out.set(`${p}.attn.in_proj_weight`, [3 * t, t]);
    out.set(`${p}.attn.in_proj_bias`, [3 * t]);
    out.set(`${p}.attn.out_proj.weight`, [t, t]);
    out.set(`${p}.attn.out_proj.bias`, [t]);
    out.set(`${p}.ln_1.weight`, [t]);
    out.set(`${p}.ln_1.bias`, [t]);
    out.set(`${p}.mlp.c_fc.weight`, [4 * t, t]);
    out.set(`${p}.mlp.c_fc.bias`, [4 * t]);
    out.set(`${p}.mlp.c_proj.weight`, [t, 4 * t]);
    out.set(`${p}.mlp.c_proj.bias`, [t]);
    out.set(`${p}.ln_2.weight`, [t]);
    out.set(`${p}.ln_2.bias`, [t]);
  }
  out.set('positional_embedding', [arch.contextLength, t]);
  out.set('text_projection', [t, arch.embedDim]);
  out.set('logit_scale', []);
  out.set('token_embedding.weight', [arch.vocabSize, t]);
  out.set('ln_final.weight', [t]);
  out.set('ln_final.bias', [t]);
  return out;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Throws unless `shapes` (minus the dropped scalar buffers) is exactly the state_dict of `arch`. */
export function assertClipShapes(shapes: Shapes, arch: ClipArch): void {
  const expected = expectedClipShapes(arch);
  const dropped = new Set<string>(DROPPED_SCALAR_BUFFERS);
  const missing = [...expected.keys()].filter((k) => !shapes.has(k));
  const unexpected = [...shapes.keys()].filter((k) => !expected.has(k) && !dropped.has(k));
  const wrong = [...expected].filter(([k, s]) => shapes.has(k) && !sameShape(shapes.get(k)!, s));
  if (missing.length === 0 && unexpected.length === 0 && wrong.length === 0) return;
  const parts: string[] = [];
  const few = (xs: string[]) => xs.slice(0, 4).join(', ') + (xs.length > 4 ? ` and ${xs.length - 4} more` : '');
  if (missing.length) parts.push(`${missing.length} missing (${few(missing)})`);
  if (unexpected.length) parts.push(`${unexpected.length} unexpected (${few(unexpected)})`);
  if (wrong.length) {
    parts.push(`${wrong.length} misshapen (${few(wrong.map(([k, s]) => `${k} is ${fmt(shapes.get(k)!)}, expected ${fmt(s)}`))})`);
  }
  throw notClip(
    `the checkpoint's keys do not match a ResNet CLIP with layers (${arch.visionLayers.join(',')}), width ${arch.visionWidth}: ${parts.join('; ')}`,
    'Pass an unmodified OpenAI CLIP ResNet checkpoint (RN50.pt or its state_dict), or re-convert with `tpt convert`.',
  );
}

/** Learnable parameters (BatchNorm running statistics and counters are buffers, not parameters). */
export function isClipParameter(name: string): boolean {
  return !/\.(running_mean|running_var|num_batches_tracked)$/.test(name);
}
