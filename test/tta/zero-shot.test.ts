import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { IMAGENET_A_CLASSNAMES } from '../../src/data/datasets/imagenet-a.js';
import { tfjsEngineInfo } from '../../src/engine/create-towers.js';
import { TfjsClipTowers } from '../../src/engine/tfjs-towers.js';
import { createPromptSetup } from '../../src/model/prompt-setup.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { TestTimeTuner } from '../../src/tta/engine.js';
import { loadClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import { TINY_CLIP } from '../model/helpers.js';

/** Zero-shot (tta_steps 0) scores view 0 only, so only view 0 goes through the image tower: same logits. */
describe('TestTimeTuner with tta_steps 0', () => {
  let towers: TfjsClipTowers;
  beforeAll(async () => {
    const backend = await initBackend('wasm');
    const weights = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
    weights.coopCtx = await readCoopContext(join(TINY_CLIP, 'coop-tiny.pth.tar'));
    towers = TfjsClipTowers.create(weights, createPromptSetup(weights, await loadTokenizer(), IMAGENET_A_CLASSNAMES), tfjsEngineInfo(backend));
  });

  it('encodes view 0 alone and scores it as the full pass would', async () => {
    const size = 64;
    const count = 12;
    const data = Float32Array.from({ length: count * size * size * 3 }, (_, i) => Math.sin(i * 0.013) * 1.5);
    const settings = { loss: 'defaultTPT' as const, lossContext: { n_aug: 11, n_patches: 0, selection_p_all: 0.1, selection_p_patch: 0.9, alpha_exponential_weightening: 1 }, learningRate: 5e-3 };
    const counts: number[] = [];
    const encode = towers.encodeImages.bind(towers);
    towers.encodeImages = (views, n, s) => {
      counts.push(n);
      return encode(views, n, s);
    };
    const zeroShot = await new TestTimeTuner(towers, { ...settings, ttaSteps: 0 }).tuneSample({ data, count, size });
    expect(counts).toEqual([1]);
    expect(zeroShot.loss).toBe(0);
    expect(Array.from(zeroShot.tptLogits)).toEqual(Array.from(zeroShot.baseLogits));
    // The base logits of a tuned run come from the same view 0 through a pass over all 12 views.
    const tuned = await new TestTimeTuner(towers, { ...settings, ttaSteps: 1 }).tuneSample({ data, count, size });
    expect(counts).toEqual([1, 12]);
    let worst = 0;
    tuned.baseLogits.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - zeroShot.baseLogits[i]!))));
    expect(worst).toBeLessThan(1e-4);
  });
});
