import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { expectedClipShapes, inferClipArch, isClipParameter, type ClipArch } from '../../src/weights/arch.js';
import { numel } from '../../src/weights/host-tensor.js';
import { FIXTURES } from './expected.js';

/** RN50's 489 state_dict keys and shapes (no tensors allocated). */
function rn50Shapes(): Map<string, number[]> {
  const lines = readFileSync(FIXTURES + 'rn50_state_dict.tsv', 'utf8').split('\n');
  const shapes = new Map<string, number[]>();
  for (const line of lines) {
    if (!line || line.startsWith('#')) continue;
    const [name, shape] = line.split('\t');
    shapes.set(name!, JSON.parse(shape!) as number[]);
  }
  return shapes;
}

const RN50: ClipArch = {
  embedDim: 1024,
  imageResolution: 224,
  visionLayers: [3, 4, 6, 3],
  visionWidth: 64,
  visionHeads: 32,
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

  test('a ViT checkpoint is refused clearly', () => {
    const shapes = new Map([['visual.proj', [768, 512]], ['visual.conv1.weight', [768, 3, 32, 32]]]);
    expect(() => inferClipArch(shapes)).toThrow(/only ResNet CLIP is supported/);
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

    expect(() => inferClipArch(new Map([['fc.weight', [10, 10]]]))).toThrow(/not a ResNet CLIP/);
  });

  test('a non-square attention-pool grid is rejected', () => {
    const shapes = rn50Shapes();
    shapes.set('visual.attnpool.positional_embedding', [51, 2048]);
    expect(() => inferClipArch(shapes)).toThrow(/not a square grid/);
  });
});
