import type { ArchOf, ClipArch, VisionKind } from '../weights/arch.js';
import type { StateDict } from '../weights/host-tensor.js';
import type { ImageEncoder, ImageTowerOptions } from './image-encoder.js';
import { ImageTower } from './image-tower.js';
import { VisionTransformerTower } from './vit.js';

/** Builds one backbone's image tower for one engine from PyTorch-named weights. */
export type ImageTowerBuilder<A extends ClipArch, Tower> = (stateDict: StateDict, arch: A, options: ImageTowerOptions) => Tower;

/**
 * The image towers of every backbone in src/weights/arch.ts's CLIP_BACKBONES, per engine. The mapped type
 * makes a backbone without its towers a compile error.
 */
export const IMAGE_TOWERS: { readonly [K in VisionKind]: { readonly tfjs: ImageTowerBuilder<ArchOf<K>, ImageEncoder> } } = {
  resnet: { tfjs: (stateDict, arch, options) => new ImageTower(stateDict, arch, options) },
  vit: { tfjs: (stateDict, arch, options) => new VisionTransformerTower(stateDict, arch, options) },
};

/** The tfjs image tower for the weights' architecture. */
export function createImageTower(stateDict: StateDict, arch: ClipArch, options: ImageTowerOptions = {}): ImageEncoder {
  const build = IMAGE_TOWERS[arch.visionKind].tfjs as ImageTowerBuilder<ClipArch, ImageEncoder>;
  return build(stateDict, arch, options);
}
