import { TptError } from '../errors.js';
import type { ViTClipArch, VisionArch, VisionBackbone } from './arch.js';
import { dim, gridOf, residualBlockShapes, type Shapes } from './arch-shapes.js';

/** OpenAI's ViT CLIPs by (width, layers, patch, resolution), as `clip.load` names them. */
const OPENAI_VITS: ReadonlyArray<[string, string]> = [
  ['ViT-B/32', '768/12/32/224'],
  ['ViT-B/16', '768/12/16/224'],
  ['ViT-L/14', '1024/24/14/224'],
  ['ViT-L/14@336px', '1024/24/14/336'],
];

/**
 * VisionTransformer CLIPs (ViT-B/32, ViT-B/16, ViT-L/14, …), as OpenAI's `build_model` infers them: width and
 * patch size from `visual.conv1.weight` [width, 3, p, p], layers from the `visual.…attn.in_proj_weight` keys,
 * the grid from `visual.positional_embedding` [grid²+1, width], resolution = patch·grid, heads = width // 64.
 */
export const VIT_BACKBONE: VisionBackbone<ViTClipArch> = {
  towerName: 'VisionTransformer',

  /** build_model's own test: `vit = "visual.proj" in state_dict`. */
  detect: (shapes: Shapes) => shapes.has('visual.proj'),

  infer(shapes: Shapes): VisionArch<ViTClipArch> {
    const visionWidth = dim(shapes, 'visual.conv1.weight', 0);
    const visionPatchSize = dim(shapes, 'visual.conv1.weight', -1);
    const visionLayers = [...shapes.keys()].filter((k) => k.startsWith('visual.') && k.endsWith('.attn.in_proj_weight')).length;
    const grid = gridOf(shapes, 'visual.positional_embedding');
    if (visionWidth < 64) {
      // heads = width // 64 would be 0: PyTorch's build_model cannot build this model either
      throw new TptError('WEIGHTS_ARCH_UNSUPPORTED', `the checkpoint's VisionTransformer is ${visionWidth} wide, so it has width // 64 = 0 attention heads`, {
        hint: "Pass an OpenAI CLIP checkpoint; CLIP's transformers are multiples of 64 wide (ViT-B: 768).",
      });
    }
    return {
      visionKind: 'vit',
      imageResolution: visionPatchSize * grid,
      visionLayers,
      visionWidth,
      visionHeads: Math.floor(visionWidth / 64),
      visionPatchSize,
    };
  },

  /** VisionTransformer's state_dict in PyTorch's order: its own parameters, then conv1, ln_pre, blocks, ln_post. */
  visualShapes(arch: ViTClipArch): Map<string, number[]> {
    const out = new Map<string, number[]>();
    const w = arch.visionWidth;
    const grid = arch.imageResolution / arch.visionPatchSize;
    out.set('visual.class_embedding', [w]);
    out.set('visual.positional_embedding', [grid * grid + 1, w]);
    out.set('visual.proj', [w, arch.embedDim]);
    out.set('visual.conv1.weight', [w, 3, arch.visionPatchSize, arch.visionPatchSize]);
    out.set('visual.ln_pre.weight', [w]);
    out.set('visual.ln_pre.bias', [w]);
    for (let l = 0; l < arch.visionLayers; l++) residualBlockShapes(out, `visual.transformer.resblocks.${l}`, w);
    out.set('visual.ln_post.weight', [w]);
    out.set('visual.ln_post.bias', [w]);
    return out;
  },

  /** The OpenAI name ("ViT-B/16"), or the shape for anything else ("ViT width 64, 2 layers, patch 8, 64px"). */
  label(arch: ViTClipArch): string {
    const key = `${arch.visionWidth}/${arch.visionLayers}/${arch.visionPatchSize}/${arch.imageResolution}`;
    const known = OPENAI_VITS.find(([, shape]) => shape === key);
    return known ? known[0] : `ViT width ${arch.visionWidth}, ${arch.visionLayers} layers, patch ${arch.visionPatchSize}, ${arch.imageResolution}px`;
  },

  describe: (a: ViTClipArch) =>
    `VisionTransformer width ${a.visionWidth}, ${a.visionLayers} layers, ${a.visionHeads} heads, patch ${a.visionPatchSize}, input ${a.imageResolution} px`,
};
