import { describe, expect, it } from 'vitest';
import { archLabel } from '../../src/weights/arch.js';
import type { ClipArch, ResNetClipArch } from '../../src/weights/arch.js';

const RN50: ResNetClipArch = {
  visionKind: 'resnet', embedDim: 1024, imageResolution: 224, visionLayers: [3, 4, 6, 3], visionWidth: 64, visionHeads: 32, contextLength: 77,
  vocabSize: 49408, transformerWidth: 512, transformerHeads: 8, transformerLayers: 12,
};

describe('archLabel', () => {
  it("names OpenAI's ResNets and describes anything else", () => {
    expect(archLabel(RN50)).toBe('RN50');
    expect(archLabel({ ...RN50, visionLayers: [3, 4, 23, 3], embedDim: 512 })).toBe('RN101');
    expect(archLabel({ ...RN50, visionLayers: [2, 1, 1, 1], visionWidth: 8, embedDim: 32, imageResolution: 64 })).toBe('ResNet 2,1,1,1 width 8, 64px');
    const vit: ClipArch = { ...RN50, visionKind: 'vit', visionLayers: 12, visionWidth: 768, visionHeads: 12, visionPatchSize: 16, embedDim: 512 };
    expect(archLabel(vit)).toBe('ViT-B/16');
    expect(archLabel({ ...vit, visionPatchSize: 32 })).toBe('ViT-B/32');
  });
});
