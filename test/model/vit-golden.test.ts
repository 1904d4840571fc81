import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { ClipTestTimeModel } from '../../src/model/clip.js';
import { VisionTransformerTower } from '../../src/model/vit.js';
import { createPromptSetup } from '../../src/model/prompt-setup.js';
import { selectEngine } from '../../src/engine/create-towers.js';
import { loadTokenizer, type ClipTokenizer } from '../../src/model/tokenizer.js';
import type { HostTensor } from '../../src/weights/host-tensor.js';
import { loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readCoopContext } from '../../src/weights/torch-file.js';
import { MODEL_FIXTURES, TINY_CLIP, maxAbs, maxAbsDiff, readNpy, tptEntropyLoss } from './helpers.js';
import { promptOptionsOf, readModelGoldens, type ModelGoldenCase } from './golden-cases.js';

/**
 * The tiny ViT CLIP (scripts/fixtures/tiny_clip.py: OpenAI's VisionTransformer, width 64, 2 layers, 8 px
 * patches of 64 px views) against PyTorch (scripts/fixtures/make_model_goldens.py): image features and logits
 * to 1e-4 from both checkpoint forms, and the text side's loss and ctx gradient through the ViT's features.
 */

const golden = readModelGoldens('vit-cases.json');
const TOLERANCE = 1e-4;
const views = readNpy(join(MODEL_FIXTURES, 'views.npy'));
const viewTensor = () => tf.tensor4d(views.data, views.shape as [number, number, number, number]);

let tokenizer: ClipTokenizer;
let coopCtx: HostTensor;
const weights: Record<'fp16' | 'jit', ClipWeights> = {} as Record<'fp16' | 'jit', ClipWeights>;

beforeAll(async () => {
  await initBackend('wasm');
  tokenizer = await loadTokenizer();
  weights.fp16 = await loadClipWeights(join(TINY_CLIP, golden.weights));
  weights.jit = await loadClipWeights(join(TINY_CLIP, 'tiny-vit.jit.pt'));
  coopCtx = await readCoopContext(join(TINY_CLIP, golden.coop));
});

function buildModel(w: ClipWeights, c: ModelGoldenCase, shortcuts = true): ClipTestTimeModel {
  return new ClipTestTimeModel(w, tokenizer, c.classnames, { ...promptOptionsOf(c, coopCtx), shortcuts });
}

describe('tiny ViT CLIP against PyTorch', () => {
  it('builds a VisionTransformer tower for the ViT checkpoint', () => {
    const model = buildModel(weights.fp16, golden.cases[0]!);
    expect(model.imageTower).toBeInstanceOf(VisionTransformerTower);
    expect(model.logitScale).toBeCloseTo(golden.logit_scale, 4);
    model.dispose();
  });

  it.each(['fp16', 'jit'] as const)('image features from the %s file match to 1e-4, without leaking tensors', (kind) => {
    const model = buildModel(weights[kind], golden.cases[0]!);
    const input = viewTensor();
    const before = tf.memory().numTensors;
    const features = model.encodeImages(input);
    expect(tf.memory().numTensors).toBe(before + 1);
    const expected = readNpy(join(MODEL_FIXTURES, golden.image_features));
    expect(features.shape).toEqual(expected.shape);
    expect(maxAbsDiff(features.dataSync(), expected.data)).toBeLessThan(TOLERANCE);
    tf.dispose([features, input]);
    model.dispose();
  });

  it('chunked image passes give the same features as one pass', () => {
    const whole = new ClipTestTimeModel(weights.fp16, tokenizer, ['dog'], { ctxInit: 'a photo of a' });
    const chunked = new ClipTestTimeModel(weights.fp16, tokenizer, ['dog'], { ctxInit: 'a photo of a', imageChunkSize: 4 });
    const input = viewTensor();
    const [a, b] = [whole.encodeImages(input), chunked.encodeImages(input)];
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-6);
    tf.dispose([a, b, input]);
    whole.dispose();
    chunked.dispose();
  });

  for (const c of golden.cases) {
    for (const kind of ['fp16', 'jit'] as const) {
      it(`${c.name} from the ${kind} file: text features and logits to 1e-4, loss and d loss/d ctx`, () => {
        const model = buildModel(weights[kind], c);
        expect(model.setup.ctxShape).toEqual(c.ctx_shape);
        const input = viewTensor();
        const image = model.encodeImages(input);
        const ctx = model.initialContext();
        const text = model.textFeatures(ctx);
        const logits = model.logits(image, text);
        expect(maxAbsDiff(text.dataSync(), readNpy(join(MODEL_FIXTURES, `${c.name}.text.npy`)).data)).toBeLessThan(TOLERANCE);
        const logitsDiff = maxAbsDiff(logits.dataSync(), readNpy(join(MODEL_FIXTURES, `${c.name}.logits.npy`)).data);
        if (process.env.TPT_GOLDEN_REPORT) process.stdout.write(`${c.name} ${kind}: |Δlogits| ${logitsDiff.toExponential(2)}\n`);
        expect(logitsDiff).toBeLessThan(TOLERANCE);

        const selected: number[] = [];
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tptEntropyLoss(model.logits(image, model.textFeatures(x)), golden.selection_p, selected))(ctx);
        expect([...selected].sort()).toEqual([...c.selected].sort());
        expect(value.dataSync()[0]).toBeCloseTo(c.loss, 4);
        const expectedGrad = readNpy(join(MODEL_FIXTURES, `${c.name}.grad.npy`)).data;
        expect(maxAbsDiff(grad.dataSync(), expectedGrad) / maxAbs(expectedGrad)).toBeLessThan(1e-3);
        tf.dispose([input, image, ctx, text, logits, value, grad]);
        model.dispose();
      });
    }
  }
});

/**
 * The same image-feature and logit goldens on the ONNX Runtime engine (OnnxClipTowers: the ViT image graph and
 * the ONNX text tower), so the ViT's PyTorch numbers hold on both engines, not only on tfjs.
 */
describe('tiny ViT CLIP against PyTorch on onnxruntime', () => {
  for (const kind of ['fp16', 'jit'] as const) {
    it(`image features and every case's text features and logits from the ${kind} file to 1e-4`, async () => {
      const engine = await selectEngine('onnxruntime', { threads: 2 });
      const expectedImage = readNpy(join(MODEL_FIXTURES, golden.image_features));
      for (const c of golden.cases) {
        const setup = createPromptSetup({ ...weights[kind], coopCtx: undefined }, tokenizer, c.classnames, promptOptionsOf(c, coopCtx));
        const towers = await engine.create(weights[kind], setup);
        try {
          expect(towers.info.engine).toBe('onnxruntime');
          expect(towers.ctxShape).toEqual(c.ctx_shape);
          const [n, size] = [views.shape[0]!, views.shape[1]!];
          const image = await towers.encodeImages(views.data, n, size);
          expect(maxAbsDiff(image, expectedImage.data)).toBeLessThan(TOLERANCE);
          const text = await towers.textFeatures(towers.initialCtx);
          expect(maxAbsDiff(text, readNpy(join(MODEL_FIXTURES, `${c.name}.text.npy`)).data)).toBeLessThan(TOLERANCE);
          const e = towers.embedDim;
          const logits = new Float32Array(n * c.classnames.length);
          for (let v = 0; v < n; v++) {
            for (let k = 0; k < c.classnames.length; k++) {
              let dot = 0;
              for (let d = 0; d < e; d++) dot += image[v * e + d]! * text[k * e + d]!;
              logits[v * c.classnames.length + k] = towers.logitScale * dot;
            }
          }
          expect(maxAbsDiff(logits, readNpy(join(MODEL_FIXTURES, `${c.name}.logits.npy`)).data)).toBeLessThan(TOLERANCE);
        } finally {
          await towers.dispose();
        }
      }
    });
  }
});
