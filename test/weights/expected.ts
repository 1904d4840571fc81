import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { ResNetClipArch } from '../../src/weights/arch.js';
import type { HostTensor } from '../../src/weights/host-tensor.js';

export const FIXTURES = new URL('../fixtures/weights/', import.meta.url).pathname;

/** A tensor as PyTorch described it (scripts/fixtures/make_pickle_cases.py): int64 values as decimal strings. */
export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}

export function readExpected(name: string): Record<string, ExpectedTensor> {
  return JSON.parse(readFileSync(FIXTURES + name, 'utf8')) as Record<string, ExpectedTensor>;
}

/** Exact comparison: every value PyTorch wrote, rounded to float32 where the reader widens to float32. */
export function expectTensorEquals(actual: HostTensor | undefined, expected: ExpectedTensor, label: string): void {
  expect(actual, label).toBeDefined();
  const t = actual!;
  expect(t.dtype, label).toBe(expected.dtype);
  expect(t.shape, label).toEqual(expected.shape);
  if (t.data instanceof BigInt64Array) {
    expect(Array.from(t.data, String), label).toEqual(expected.values);
  } else if (t.data instanceof Float32Array) {
    expect(Array.from(t.data), label).toEqual(expected.values.map((v) => Math.fround(Number(v))));
  } else {
    expect(Array.from(t.data), label).toEqual(expected.values.map(Number));
  }
}

/** OpenAI's RN50 as build_model infers it from the released state_dict (the published shapes). */
export const RN50_ARCH: ResNetClipArch = {
  visionKind: 'resnet',
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
