import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { DynamicMemory } from '../../src/tta/methods/dmn.js';
import { hyperparameterValue, methodLabel } from '../../src/tta/methods/names.js';
import { decodeFloat32, encodeFloat32 } from '../../src/tta/methods/online.js';
import { BOOST_DELTA, TDA_POSITIVE } from '../../src/tta/methods/online-settings.js';
import { insertFifo, insertSorted, type ClassCache } from '../../src/tta/methods/tda.js';
import { DATASET_NAMES } from '../../src/data/datasets/registry.js';

/** The cache and memory rules on hand-made entries, where the goldens' stream may not reach: ties, capacities, FIFO. */

const entry = (entropy: number, tag = entropy) => ({ feature: Float32Array.of(tag), entropy });
const entropies = (cache: ClassCache, cls: number) => cache.get(cls)!.map((e) => e.entropy);
const tags = (cache: ClassCache, cls: number) => cache.get(cls)!.map((e) => e.feature[0]);

describe("TDA's update_cache", () => {
  it('fills to capacity sorted by entropy, then replaces the worst only with a strictly lower entropy', () => {
    const cache: ClassCache = new Map();
    for (const h of [0.5, 0.2, 0.9]) insertSorted(cache, 7, entry(h), 3);
    expect(entropies(cache, 7)).toEqual([0.2, 0.5, 0.9]);
    insertSorted(cache, 7, entry(0.95), 3);
    expect(entropies(cache, 7)).toEqual([0.2, 0.5, 0.9]);
    insertSorted(cache, 7, entry(0.9, 42), 3); // equal to the worst: Python keeps the older entry
    expect(tags(cache, 7)).toEqual([0.2, 0.5, 0.9].map((v) => Math.fround(v)));
    insertSorted(cache, 7, entry(0.3), 3);
    expect(entropies(cache, 7)).toEqual([0.2, 0.3, 0.5]);
  });

  it("BoostAdapter's negative cache (fifo=True) drops the oldest entry, whatever its entropy", () => {
    const cache: ClassCache = new Map();
    for (const h of [0.1, 0.9, 0.5]) insertFifo(cache, 3, entry(h), 2);
    expect(entropies(cache, 3)).toEqual([0.9, 0.5]);
  });
});

describe("DMN's memory", () => {
  it('replaces the highest-entropy entry of a full class only when the new entropy is lower than some entry', () => {
    const memory = new DynamicMemory({ beta: 5.5, weight: 1, memorySize: 2 });
    const update = (entropy: number, tag: number) => memory.apply({ label: 4, feature: Float32Array.of(tag), entropy });
    update(0.5, 1);
    update(0.7, 2);
    update(0.8, 3); // higher than both: ignored
    expect(memory.memory.get(4)!.map((m) => m.feature[0])).toEqual([1, 2]);
    update(0.6, 4); // replaces the 0.7 entry in its slot
    expect(memory.memory.get(4)!.map((m) => m.feature[0])).toEqual([1, 4]);
  });
});

describe('state values', () => {
  it('float32 arrays survive base64 exactly, NaN and signed zero included', () => {
    const values = Float32Array.of(0.1, -0, Number.NaN, 3.4e38, 1e-45, -1.5);
    expect(Object.is(decodeFloat32(encodeFloat32(values))[1], -0)).toBe(true);
    expect(Array.from(decodeFloat32(encodeFloat32(values)))).toEqual(Array.from(values));
    expect(decodeFloat32(encodeFloat32(values.subarray(2, 4)))).toEqual(values.subarray(2, 4));
  });
});

describe('official settings per dataset', () => {
  it("TDA's and BoostAdapter's tables are keyed by the dataset registry's names", () => {
    for (const name of Object.keys(TDA_POSITIVE)) expect(DATASET_NAMES).toContain(name);
    for (const name of Object.keys(BOOST_DELTA)) expect(DATASET_NAMES).toContain(name);
    expect(hyperparameterValue({ method: 'tda', dataset: 'imagenet-sketch' }, 'tda_alpha')).toBe(2.363);
    expect(hyperparameterValue({ method: 'boostadapter', dataset: 'caltech101' }, 'boost_delta')).toBe(2);
    expect(hyperparameterValue({ method: 'tda', dataset: 'imagenet-a', tda_beta: 4 }, 'tda_beta')).toBe(4);
  });

  it('the banner says the method is online', () => {
    expect(methodLabel(loadConfig(undefined, ['method="tda"']))).toBe(
      'tda (TDA; tda_alpha 2 (official), tda_beta 5 (official), no gradient, online: state carried along the stream, saved in state.jsonl)',
    );
  });

  it('boostadapter on ImageNet, which has no official delta, is refused unless boost_delta is set', () => {
    expect(() => loadConfig(undefined, ['method="boostadapter"', 'dataset="imagenet"', 'dataset_path="/d"', 'augmix=false'])).toThrow(/configs\/imagenet.yaml has no delta/);
    expect(loadConfig(undefined, ['method="boostadapter"', 'dataset="imagenet"', 'dataset_path="/d"', 'boost_delta=3']).boost_delta).toBe(3);
  });
});
