import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { ClipTestTimeModel } from '../../src/model/clip.js';
import { loadTokenizer, type ClipTokenizer } from '../../src/model/tokenizer.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import type { HostTensor } from '../../src/weights/host-tensor.js';
import { MODEL_FIXTURES, TINY_CLIP, maxAbs, maxAbsDiff, readNpy, tptEntropyLoss } from './helpers.js';
import { promptOptionsOf, readModelGoldens, type ModelGoldenCase } from './golden-cases.js';

const golden = readModelGoldens('cases.json');

let weights: ClipWeights;
let coopCtx: HostTensor;
let tokenizer: ClipTokenizer;
const views = readNpy(join(MODEL_FIXTURES, 'views.npy'));

beforeAll(async () => {
  await initBackend('wasm');
  weights = await loadClipWeights(join(TINY_CLIP, 'tiny-rn.fp16.pt'));
  coopCtx = await readCoopContext(join(TINY_CLIP, 'coop-tiny.pth.tar'));
  tokenizer = await loadTokenizer();
});

function buildModel(c: ModelGoldenCase, shortcuts: boolean): ClipTestTimeModel {
  return new ClipTestTimeModel(weights, tokenizer, c.classnames, { ...promptOptionsOf(c, coopCtx), shortcuts });
}

describe('tiny CLIP against PyTorch (the seed model classes)', () => {
  it('image features match to 1e-3', () => {
    const model = buildModel(golden.cases[0]!, true);
    const expected = readNpy(join(MODEL_FIXTURES, 'image_features.npy'));
    const got = tf.tidy(() => model.encodeImages(tf.tensor4d(views.data, views.shape as [number, number, number, number])).dataSync());
    expect(maxAbsDiff(got, expected.data)).toBeLessThan(1e-3);
    expect(model.logitScale).toBeCloseTo(golden.logit_scale, 4);
    model.dispose();
  });

  for (const c of golden.cases) {
    // The seed's full 77-token prompts over 200 classes take tens of seconds here; the 12-class cases cover that path.
    for (const shortcuts of c.classnames.length > 20 ? [true] : [true, false]) {
      it(`${c.name} (${shortcuts ? 'shortcuts' : 'full prompts'}): text features, logits, loss and d loss/d ctx`, () => {
        const model = buildModel(c, shortcuts);
        expect(model.setup.eotIndex).toEqual(c.eot);
        expect(model.setup.ctxShape).toEqual(c.ctx_shape);
        const ctx = model.initialContext();
        const image = model.encodeImages(tf.tensor4d(views.data, views.shape as [number, number, number, number]));
        const text = model.textFeatures(ctx);
        const logits = model.logits(image, text);
        expect(maxAbsDiff(text.dataSync(), readNpy(join(MODEL_FIXTURES, `${c.name}.text.npy`)).data)).toBeLessThan(1e-3);
        expect(maxAbsDiff(logits.dataSync(), readNpy(join(MODEL_FIXTURES, `${c.name}.logits.npy`)).data)).toBeLessThan(1e-3);

        const selected: number[] = [];
        const { value, grad: ctxGrad } = tf.valueAndGrad((x: tf.Tensor) => tptEntropyLoss(model.logits(image, model.textFeatures(x)), golden.selection_p, selected))(ctx);
        // The same views; their order among near-equal entropies may differ from torch.argsort's.
        expect([...selected].sort()).toEqual([...c.selected].sort());
        expect(value.dataSync()[0]).toBeCloseTo(c.loss, 4);
        const expectedGrad = readNpy(join(MODEL_FIXTURES, `${c.name}.grad.npy`)).data;
        const grad = ctxGrad.dataSync();
        expect(maxAbsDiff(grad, expectedGrad) / maxAbs(expectedGrad)).toBeLessThan(1e-3);
        tf.dispose([ctx, image, text, logits, value, ctxGrad]);
        model.dispose();
      });
    }
  }
});
