import { TptError } from '../errors.js';
import { notClip, countBlocks, dim, residualBlockShapes, type Shapes } from './arch-shapes.js';
import { RESNET_BACKBONE } from './arch-resnet.js';
import { VIT_BACKBONE } from './arch-vit.js';

/** build_model's text hyper-parameters, the embedding both towers project to, and the image size. */
export interface ClipArchCommon {
  embedDim: number;
  imageResolution: number;
  contextLength: number;
  vocabSize: number;
  transformerWidth: number;
  transformerHeads: number;
  transformerLayers: number;
}

/** What the text side decides; the image tower's backbone adds the image size. */
export type TextArch = Omit<ClipArchCommon, 'imageResolution'>;

/** What a backbone infers: everything but the text side. */
export type VisionArch<A extends ClipArch> = Omit<A, keyof TextArch>;

/** A CLIP with OpenAI's ModifiedResNet image tower (RN50, RN101, RN50x4, …). */
export interface ResNetClipArch extends ClipArchCommon {
  visionKind: 'resnet';
  /** Bottleneck blocks per stage. */
  visionLayers: [number, number, number, number];
  visionWidth: number;
  /** Attention-pool heads (width·32/64). */
  visionHeads: number;
}

/** A CLIP with OpenAI's VisionTransformer image tower (ViT-B/32, ViT-B/16, ViT-L/14, …). */
export interface ViTClipArch extends ClipArchCommon {
  visionKind: 'vit';
  /** Residual attention blocks. */
  visionLayers: number;
  visionWidth: number;
  /** width // 64 */
  visionHeads: number;
  visionPatchSize: number;
}

/**
 * The hyper-parameters of an OpenAI CLIP, as `build_model` derives them from a state_dict: one type for every
 * backbone, told apart by `visionKind` (the weights, the model and the engines all use this one).
 */
export type ClipArch = ResNetClipArch | ViTClipArch;
export type VisionKind = ClipArch['visionKind'];
export type ArchOf<K extends VisionKind> = Extract<ClipArch, { visionKind: K }>;

/** One image-tower family: how its checkpoints are recognised, inferred, checked and named. */
export interface VisionBackbone<A extends ClipArch> {
  /** OpenAI's class name of the tower ("ModifiedResNet"). */
  towerName: string;
  /** True when a state_dict's keys are of this backbone. */
  detect(shapes: Shapes): boolean;
  /** The image tower's hyper-parameters (and the image size) from the shapes; the text side adds the rest. */
  infer(shapes: Shapes): VisionArch<A>;
  /** Every `visual.*` state_dict entry with its shape, in PyTorch's module order. */
  visualShapes(arch: A): Map<string, number[]>;
  /** OpenAI's name of the architecture ("RN50", "ViT-B/16") or a description of its shape. */
  label(arch: A): string;
  /** One line for `tpt convert`'s summary. */
  describe(arch: A): string;
}

/**
 * The registry of image-tower families, in detection order (build_model tests for a ViT first). Adding a
 * backbone is one entry here and its tower builders in src/model/architectures.ts (the compiler asks for them).
 */
export const CLIP_BACKBONES: { readonly [K in VisionKind]: VisionBackbone<ArchOf<K>> } = {
  vit: VIT_BACKBONE,
  resnet: RESNET_BACKBONE,
};

/** The backbone entry of an architecture, typed for it. */
export function backboneOf<A extends ClipArch>(arch: A): VisionBackbone<A> {
  return CLIP_BACKBONES[arch.visionKind] as unknown as VisionBackbone<A>;
}

/** The architecture's OpenAI name ("RN50", "ViT-B/16"), or its shape for anything else. */
export function archLabel(arch: ClipArch): string {
  return backboneOf(arch).label(arch);
}

/** Scalar buffers of OpenAI's JIT archives that `build_model` deletes before loading. */
export const DROPPED_SCALAR_BUFFERS = ['input_resolution', 'context_length', 'vocab_size'] as const;

/**
 * The architecture of a CLIP from its state_dict shapes, exactly as OpenAI's `build_model` infers it: the
 * image tower's backbone from its keys (CLIP_BACKBONES), the text side from `ln_final`, the embeddings and the
 * block count, with heads as width/64. Then every key and shape is checked against that architecture, as
 * nanoGPT's `from_pretrained` does.
 */
export function inferClipArch(shapes: Shapes): ClipArch {
  const kind = (Object.keys(CLIP_BACKBONES) as VisionKind[]).find((k) => CLIP_BACKBONES[k].detect(shapes));
  if (kind === undefined) {
    throw notClip('the checkpoint has neither visual.proj (a ViT) nor visual.layer1… blocks (a ResNet), so it is not a CLIP model');
  }
  // The image tower first: its errors say more about a foreign checkpoint than a missing text key does.
  const vision = CLIP_BACKBONES[kind].infer(shapes);
  const transformerWidth = dim(shapes, 'ln_final.weight', 0);
  const text: TextArch = {
    embedDim: dim(shapes, 'text_projection', 1),
    contextLength: dim(shapes, 'positional_embedding', 0),
    vocabSize: dim(shapes, 'token_embedding.weight', 0),
    transformerWidth,
    transformerHeads: Math.floor(transformerWidth / 64),
    transformerLayers: countBlocks(shapes, 'transformer.resblocks.'),
  };
  const arch = { ...vision, ...text } as ClipArch;
  assertBuildable(arch);
  assertClipShapes(shapes, arch);
  return arch;
}

/**

 * `build_model` derives attention heads from widths (text: width // 64; vision: width // 64 for a ViT,
 * width·32 // 64 for a ResNet's attention pool) and nn.MultiheadAttention needs at least one head that
 * divides the width; shapes that break this build no model in PyTorch either (a division by zero or an
 * assertion there), so they are refused by name here.
 */
function assertBuildable(arch: ClipArch): void {
  const unbuildable = (why: string) =>
    new TptError('WEIGHTS_ARCH_UNSUPPORTED', `unsupported architecture: ${why}, so OpenAI's build_model cannot build this checkpoint`, {
      hint: 'Pass a checkpoint of a released CLIP (RN50, RN101, RN50x4, ViT-B/16, …) or one trained with widths that are multiples of 64.',
    });
  const image =
    arch.visionKind === 'resnet'
      ? (['image attention pool', arch.visionWidth * 32, arch.visionHeads, 'visual.layer1.0.conv1.weight ×32'] as const)
      : (['image transformer', arch.visionWidth, arch.visionHeads, 'visual.conv1.weight'] as const);
  const attention = [['text', arch.transformerWidth, arch.transformerHeads, 'ln_final.weight'] as const, image];
  for (const [tower, width, heads, source] of attention) {
    if (heads < 1) throw unbuildable(`the ${tower} width is ${width} (from ${source}), below 64, which gives 0 attention heads`);
    if (width % heads !== 0) throw unbuildable(`the ${tower} width ${width} (from ${source}) is not divisible by its ${heads} attention heads`);
  }
}

/**
 * Every state_dict entry of `CLIP(...)` for an architecture with its shape: the image tower's (from its
 * backbone), then the text transformer's.
 */
export function expectedClipShapes(arch: ClipArch): Map<string, number[]> {
  const out = backboneOf(arch).visualShapes(arch);
  const t = arch.transformerWidth;
  for (let l = 0; l < arch.transformerLayers; l++) residualBlockShapes(out, `transformer.resblocks.${l}`, t);
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
    `the checkpoint's keys do not match a ${archLabel(arch)} CLIP (${backboneOf(arch).describe(arch)}): ${parts.join('; ')}`,
    'Pass an unmodified OpenAI CLIP checkpoint (RN50.pt, ViT-B-16.pt, … or its state_dict), or re-convert with `tpt convert`.',
  );
}

/** Learnable parameters (BatchNorm running statistics and counters are buffers, not parameters). */
export function isClipParameter(name: string): boolean {
  return !/\.(running_mean|running_var|num_batches_tracked)$/.test(name);
}
