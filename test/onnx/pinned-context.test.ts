import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IMAGENET_A_CLASSNAMES } from '../../src/data/datasets/imagenet-a.js';
import { createPromptSetup, type PromptSetup } from '../../src/model/prompt-setup.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { OnnxTextTower, textArchOf } from '../../src/onnx/onnx-text-tower.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import { TINY_CLIP } from '../model/helpers.js';

/**
 * The ONNX text tower keeps the forward pass at the pinned (initial) context: TPT's first step of every sample
 * reuses it instead of running it again. Results are bit-identical to a tower that reruns it.
 */

let weights: ClipWeights;
let setup: PromptSetup;

beforeAll(async () => {
  weights = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
  weights.coopCtx = await readCoopContext(join(TINY_CLIP, 'coop-tiny.pth.tar'));
  setup = createPromptSetup(weights, await loadTokenizer(), IMAGENET_A_CLASSNAMES);
});

const tower = () => OnnxTextTower.create(weights.stateDict, textArchOf(weights.arch), setup.plan, { nCtx: setup.nCtx, csc: setup.csc }, { threads: 1 });
const upstream = (features: Float32Array) => Float32Array.from(features, (f, i) => f - 0.1 * Math.sin(i));

describe('OnnxTextTower.pinContext', () => {
  it('serves the base features and every first step from one forward pass, bit for bit', async () => {
    const pinned = await tower();
    const plain = await tower();
    try {
      pinned.pinContext(setup.initialCtx);
      const base = await pinned.textFeatures(setup.initialCtx);
      expect(Array.from(base)).toEqual(Array.from(await plain.textFeatures(setup.initialCtx)));
      for (let sample = 0; sample < 2; sample++) {
        const a = await pinned.textFeaturesWithGradient(setup.initialCtx, upstream);
        const b = await plain.textFeaturesWithGradient(setup.initialCtx, upstream);
        expect(Array.from(a.ctxGradient)).toEqual(Array.from(b.ctxGradient));
        expect(Array.from(a.features)).toEqual(Array.from(base));
        a.features.fill(0); // the caller's copy: the kept features stay intact
      }
      expect(pinned.forwardRuns).toBe(1);
      expect(plain.forwardRuns).toBe(3);

      // Any other context runs its own forward pass, with the same result as an unpinned tower.
      const moved = Float32Array.from(setup.initialCtx, (v, i) => v + 1e-3 * Math.cos(i));
      const a = await pinned.textFeaturesWithGradient(moved, upstream);
      const b = await plain.textFeaturesWithGradient(moved, upstream);
      expect(Array.from(a.ctxGradient)).toEqual(Array.from(b.ctxGradient));
      expect(pinned.forwardRuns).toBe(2);
      expect(Array.from(await pinned.textFeatures(setup.initialCtx))).toEqual(Array.from(base));
    } finally {
      await pinned.dispose();
      await plain.dispose();
    }
  });
});
