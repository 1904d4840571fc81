import { buildDemoClip, type DemoClipSize } from '../demo/demo-model.js';
import { TptError } from '../errors.js';
import type { ModelWeights } from '../model/model-weights.js';
import { inferClipArch } from '../weights/arch.js';
import { shareStateDict, shareTensor } from '../workers/shared-weights.js';

/**
 * The architectures `tpt bench` can build: exact tensor shapes of OpenAI's checkpoints, seeded random values
 * (the demo's generator), so timing needs no download. `tiny` and `tiny-vit` are the test fixtures' CLIPs'
 * shapes, for quick checks.
 */
export const BENCH_ARCHS = {
  RN50: {
    visionLayers: [3, 4, 6, 3],
    visionWidth: 64,
    inputResolution: 224,
    embedDim: 1024,
    contextLength: 77,
    vocabSize: 49408,
    transformerWidth: 512,
    transformerLayers: 12,
    nCtx: 4,
  },
  RN101: {
    visionLayers: [3, 4, 23, 3],
    visionWidth: 64,
    inputResolution: 224,
    embedDim: 512,
    contextLength: 77,
    vocabSize: 49408,
    transformerWidth: 512,
    transformerLayers: 12,
    nCtx: 4,
  },
  'ViT-B/32': {
    visionLayers: 12,
    visionWidth: 768,
    visionPatchSize: 32,
    inputResolution: 224,
    embedDim: 512,
    contextLength: 77,
    vocabSize: 49408,
    transformerWidth: 512,
    transformerLayers: 12,
    nCtx: 4,
  },
  'ViT-B/16': {
    visionLayers: 12,
    visionWidth: 768,
    visionPatchSize: 16,
    inputResolution: 224,
    embedDim: 512,
    contextLength: 77,
    vocabSize: 49408,
    transformerWidth: 512,
    transformerLayers: 12,
    nCtx: 4,
  },
  'ViT-L/14': {
    visionLayers: 24,
    visionWidth: 1024,
    visionPatchSize: 14,
    inputResolution: 224,
    embedDim: 768,
    contextLength: 77,
    vocabSize: 49408,
    transformerWidth: 768,
    transformerLayers: 12,
    nCtx: 4,
  },
  tiny: {
    visionLayers: [2, 1, 1, 1],
    visionWidth: 8,
    inputResolution: 64,
    embedDim: 32,
    contextLength: 77,
    vocabSize: 49408,
    transformerWidth: 128,
    transformerLayers: 2,
    nCtx: 4,
  },
  'tiny-vit': {
    visionLayers: 2,
    visionWidth: 64,
    visionPatchSize: 8,
    inputResolution: 64,
    embedDim: 32,
    contextLength: 77,
    vocabSize: 49408,
    transformerWidth: 64,
    transformerLayers: 1,
    nCtx: 4,
  },
} as const satisfies Record<string, DemoClipSize>;

export type BenchArch = keyof typeof BENCH_ARCHS;
export const BENCH_ARCH_NAMES = Object.keys(BENCH_ARCHS) as BenchArch[];

export function benchArchSize(name: string): DemoClipSize {
  if (!(name in BENCH_ARCHS)) {
    throw new TptError('BENCH_ARCH', `unknown architecture "${name}" for tpt bench`, { hint: `Use one of: ${BENCH_ARCH_NAMES.join(', ')}.` });
  }
  return BENCH_ARCHS[name as BenchArch];
}

/**
 * Random-weight CLIP of the named architecture (the demo generator at those sizes) with a CoOp-style
 * context, its architecture inferred from the shapes exactly as for a real checkpoint.
 */
export function buildBenchWeights(arch: string, seed: number, options: { shared?: boolean } = {}): ModelWeights {
  const size = benchArchSize(arch);
  const { stateDict, coopCtx } = buildDemoClip(seed, size);
  const weights = options.shared ? shareStateDict(stateDict) : stateDict;
  const inferred = inferClipArch(new Map([...weights].map(([k, t]) => [k, t.shape])));
  return { arch: inferred, stateDict: weights, coopCtx: options.shared ? shareTensor(coopCtx) : coopCtx };
}
