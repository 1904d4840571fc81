import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { archLabel, expectedClipShapes, inferClipArch, isClipParameter, type ClipArch, type ViTClipArch } from '../../src/weights/arch.js';
import { numel } from '../../src/weights/host-tensor.js';
import { FIXTURES, RN50_ARCH } from './expected.js';

/** A published state_dict's keys and shapes (no tensors allocated). */
function tsvShapes(file: string): Map<string, number[]> {
  const lines = readFileSync(FIXTURES + file, 'utf8').split('\n');
  const shapes = new Map<string, number[]>();
  for (const line of lines) {
    if (!line || line.startsWith('#')) continue;
    const [name, shape] = line.split('\t');
    shapes.set(name!, JSON.parse(shape!) as number[]);
  }
  return shapes;
}

/** RN50's 489 state_dict keys and shapes. */
const rn50Shapes = () => tsvShapes('rn50_state_dict.tsv');
/** ViT-B/16's 302 (scripts/fixtures/make_vit_shapes.py, from OpenAI's model definition). */
const vitB16Shapes = () => tsvShapes('vit_b16_state_dict.tsv');

const RN50 = RN50_ARCH;

const VIT_B16: ViTClipArch = {
  visionKind: 'vit',
  embedDim: 512,
  imageResolution: 224,
  visionLayers: 12,
  visionWidth: 768,
  visionHeads: 12,
  visionPatchSize: 16,
  contextLength: 77,
  vocabSize: 49408,
  transformerWidth: 512,
  transformerHeads: 8,
  transformerLayers: 12,
};

describe('inferClipArch', () => {
  test("RN50's key/shape list gives OpenAI's RN50 architecture", () => {
    const shapes = rn50Shapes();
    expect(shapes.size).toBe(489);
    expect(inferClipArch(shapes)).toEqual(RN50);
  });

  test("the JIT archive's scalar buffers are tolerated (build_model deletes them)", () => {
    const shapes = rn50Shapes();
    for (const k of ['input_resolution', 'context_length', 'vocab_size']) shapes.set(k, []);
    expect(inferClipArch(shapes)).toEqual(RN50);
  });

  test('the expected state_dict of RN50 is exactly the published one, with 102,007,137 parameters', () => {
    const expected = expectedClipShapes(RN50);
    expect(expected).toEqual(rn50Shapes());
    let parameters = 0;
    for (const [name, shape] of expected) if (isClipParameter(name)) parameters += numel(shape);
    expect(parameters).toBe(102_007_137);
  });

  test("ViT-B/16's key/shape list gives OpenAI's ViT-B/16 (build_model's inference), with 149,620,737 parameters", () => {
    const shapes = vitB16Shapes();
    expect(shapes.size).toBe(302);
    for (const k of ['input_resolution', 'context_length', 'vocab_size']) shapes.set(k, []);
    const arch = inferClipArch(shapes);
    expect(arch).toEqual(VIT_B16);
    expect(archLabel(arch)).toBe('ViT-B/16');
    const expected = expectedClipShapes(VIT_B16);
    expect(expected).toEqual(vitB16Shapes());
    let parameters = 0;
    for (const [name, shape] of expected) if (isClipParameter(name)) parameters += numel(shape);
    expect(parameters).toBe(149_620_737);
  });

  test("OpenAI's other ViTs and ResNets are named from their shapes", () => {
    expect(archLabel({ ...VIT_B16, visionPatchSize: 32 })).toBe('ViT-B/32');
    expect(archLabel({ ...VIT_B16, visionWidth: 1024, visionHeads: 16, visionLayers: 24, visionPatchSize: 14, embedDim: 768 })).toBe('ViT-L/14');
    expect(archLabel({ ...VIT_B16, visionWidth: 1024, visionHeads: 16, visionLayers: 24, visionPatchSize: 14, imageResolution: 336, embedDim: 768 })).toBe('ViT-L/14@336px');
    expect(archLabel({ ...VIT_B16, visionWidth: 64, visionHeads: 1, visionLayers: 2, visionPatchSize: 8, imageResolution: 64 })).toBe('ViT width 64, 2 layers, patch 8, 64px');
    // RN50x4 (the shapes build_model infers): layers (4, 6, 10, 6), width 80, 288 px, embed 640
    const rn50x4: ClipArch = { ...RN50, visionLayers: [4, 6, 10, 6], visionWidth: 80, visionHeads: 40, imageResolution: 288, embedDim: 640, transformerWidth: 640, transformerHeads: 10 };
    expect(inferClipArch(expectedClipShapes(rn50x4))).toEqual(rn50x4);
    expect(archLabel(rn50x4)).toBe('RN50x4');
    const rn101: ClipArch = { ...RN50, visionLayers: [3, 4, 23, 3], embedDim: 512 };
    expect(inferClipArch(expectedClipShapes(rn101))).toEqual(rn101);
    expect(archLabel(rn101)).toBe('RN101');
  });

  test('a ViT with a missing block, a non-square patch grid or too narrow a width is refused with the key named', () => {
    const missing = vitB16Shapes();
    missing.delete('visual.transformer.resblocks.11.ln_2.bias');
    expect(() => inferClipArch(missing)).toThrow(/ViT-B\/16 CLIP .*1 missing \(visual\.transformer\.resblocks\.11\.ln_2\.bias\)/);
    const grid = vitB16Shapes();
    grid.set('visual.positional_embedding', [198, 768]);
    expect(() => inferClipArch(grid)).toThrow(/visual\.positional_embedding has 198 rows, not a square grid/);
    const narrow = expectedClipShapes({ ...VIT_B16, visionWidth: 32, visionHeads: 0 });
    expect(() => inferClipArch(narrow)).toThrow(expect.objectContaining({ code: 'WEIGHTS_ARCH_UNSUPPORTED' }));
  });

  test("a text width below 64 (0 heads in build_model) is an unsupported architecture, not a crash", () => {
    const narrow = rn50Shapes();
    narrow.set('ln_final.weight', [32]);
    let caught: unknown;
    try {
      inferClipArch(narrow);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'WEIGHTS_ARCH_UNSUPPORTED', message: expect.stringMatching(/text width is 32 .*below 64, which gives 0 attention heads/) });
    const odd = rn50Shapes();
    odd.set('ln_final.weight', [130 + 1]); // 131 // 64 = 2 heads, and 131 is odd
    expect(() => inferClipArch(odd)).toThrow(/text width 131 .* not divisible by its 2 attention heads/);
  });

  test('a missing, misshapen or foreign key is named', () => {
    const missing = rn50Shapes();
    missing.delete('visual.layer3.2.bn2.running_var');
    expect(() => inferClipArch(missing)).toThrow(/1 missing \(visual\.layer3\.2\.bn2\.running_var\)/);

    const wrong = rn50Shapes();
    wrong.set('visual.attnpool.c_proj.weight', [1024, 1024]);
    expect(() => inferClipArch(wrong)).toThrow(/visual\.attnpool\.c_proj\.weight is \[1024, 1024\], expected \[1024, 2048\]/);

    const extra = rn50Shapes();
    extra.set('prompt_learner.ctx', [4, 512]);
    expect(() => inferClipArch(extra)).toThrow(/1 unexpected \(prompt_learner\.ctx\)/);

    expect(() => inferClipArch(new Map([['fc.weight', [10, 10]]]))).toThrow(/neither visual\.proj \(a ViT\) nor visual\.layer1… blocks \(a ResNet\), so it is not a CLIP model/);
    expect(() => inferClipArch(new Map([['visual.layer1.0.conv1.weight', [64, 64, 1, 1]]]))).toThrow(/not a ResNet CLIP/);
  });

  test('a non-square attention-pool grid is rejected', () => {
    const shapes = rn50Shapes();
    shapes.set('visual.attnpool.positional_embedding', [51, 2048]);
    expect(() => inferClipArch(shapes)).toThrow(/not a square grid/);
  });
});
