import type { ArchOf, ClipArch, VisionKind } from '../weights/arch.js';
import type { StateDict } from '../weights/host-tensor.js';
import { buildResNetImageGraph } from './resnet-image-graph.js';
import { buildViTImageGraph } from './vit-image-graph.js';

/**
 * The ONNX image-tower builders by backbone, beside the tfjs ones (src/model/architectures.ts). The type maps
 * every vision kind of the architecture registry, so a backbone added there does not compile until it has a
 * graph here too.
 */
export const ONNX_IMAGE_GRAPHS: { readonly [K in VisionKind]: (stateDict: StateDict, arch: ArchOf<K>) => Uint8Array } = {
  resnet: buildResNetImageGraph,
  vit: buildViTImageGraph,
};

/** The serialised image-tower graph of any supported CLIP. */
export function buildImageGraph(stateDict: StateDict, arch: ClipArch): Uint8Array {
  return (ONNX_IMAGE_GRAPHS[arch.visionKind] as (stateDict: StateDict, arch: ClipArch) => Uint8Array)(stateDict, arch);
}
