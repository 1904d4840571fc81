import type { ResNetClipArch, VisionArch, VisionBackbone } from './arch.js';
import { countBlocks, dim, gridOf, notClip, type Shapes } from './arch-shapes.js';

/** OpenAI's ResNet CLIPs by (vision layers, vision width, embedding dim), as `clip.load` names them. */
const OPENAI_RESNETS: ReadonlyArray<[string, string]> = [
  ['RN50', '3,4,6,3/64/1024'],
  ['RN101', '3,4,23,3/64/512'],
  ['RN50x4', '4,6,10,6/80/640'],
  ['RN50x16', '6,8,18,8/96/768'],
  ['RN50x64', '3,15,36,10/128/1024'],
];

/**
 * ModifiedResNet CLIPs (RN50, RN101, RN50x4, …), as OpenAI's `build_model` infers them: block counts from key
 * names, width from `visual.layer1.0.conv1.weight`, input resolution from the attention pool's positional
 * embedding ((√(tokens−1))·32), attention-pool heads as width·32/64.
 */
export const RESNET_BACKBONE: VisionBackbone<ResNetClipArch> = {
  towerName: 'ModifiedResNet',

  detect: (shapes: Shapes) => [...shapes.keys()].some((k) => k.startsWith('visual.layer')),

  infer(shapes: Shapes): VisionArch<ResNetClipArch> {
    const counts = [1, 2, 3, 4].map((b) => countBlocks(shapes, `visual.layer${b}.`));
    if (counts.some((c) => c === 0)) {
      throw notClip(`the checkpoint lacks visual.layer1…4 blocks (found ${counts.join(', ')}), so it is not a ResNet CLIP model`);
    }
    const visionWidth = dim(shapes, 'visual.layer1.0.conv1.weight', 0);
    const grid = gridOf(shapes, 'visual.attnpool.positional_embedding');
    return {
      visionKind: 'resnet',
      imageResolution: grid * 32,
      visionLayers: counts as [number, number, number, number],
      visionWidth,
      visionHeads: Math.floor((visionWidth * 32) / 64),
    };
  },

  /** ModifiedResNet's state_dict in PyTorch's module order: stem, 4 bottleneck layers, attention pool. */
  visualShapes(arch: ResNetClipArch): Map<string, number[]> {
    const out = new Map<string, number[]>();
    const bn = (name: string, c: number) => {
      for (const p of ['weight', 'bias', 'running_mean', 'running_var']) out.set(`${name}.${p}`, [c]);
      out.set(`${name}.num_batches_tracked`, []);
    };
    const w = arch.visionWidth;
    // three stem convolutions (3 → w/2 → w/2 → w), then bottlenecks with 4x expansion
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
    return out;
  },

  /** The OpenAI name ("RN50"), or the shape for anything else ("ResNet 2,1,1,1 width 8, 64px"). */
  label(arch: ResNetClipArch): string {
    const key = `${arch.visionLayers.join(',')}/${arch.visionWidth}/${arch.embedDim}`;
    const known = OPENAI_RESNETS.find(([, shape]) => shape === key);
    return known ? known[0] : `ResNet ${arch.visionLayers.join(',')} width ${arch.visionWidth}, ${arch.imageResolution}px`;
  },

  describe: (a: ResNetClipArch) =>
    `ModifiedResNet layers (${a.visionLayers.join(', ')}), width ${a.visionWidth}, ${a.visionHeads} attention-pool heads, input ${a.imageResolution} px`,
};
