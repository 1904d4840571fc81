import { describe, expect, it } from 'vitest';
import { pythonBoolRepr, pythonFloatRepr, pythonIntRepr } from '../../src/python-repr.js';
import { loadConfig } from '../../src/config/load.js';
import { generateRunName, hashedSettings } from '../../src/run/run-name.js';

// Expected strings printed by CPython 3.11's repr() (see the one-liner in the commit message).
const PYTHON_FLOAT_REPR: Array<[number, string]> = [
  [0.0, '0.0'], [-0.0, '-0.0'], [0.005, '0.005'], [0.8, '0.8'], [1e-5, '1e-05'], [0.0001, '0.0001'],
  [0.00012345, '0.00012345'], [1e16, '1e+16'], [1.5e16, '1.5e+16'], [123456789012345.6, '123456789012345.6'],
  [9999999999999998.0, '9999999999999998.0'], [1.0, '1.0'], [2.5, '2.5'], [100.0, '100.0'], [0.1, '0.1'],
  [0.9, '0.9'], [1 / 3, '0.3333333333333333'], [-2.75, '-2.75'], [1e22, '1e+22'],
  [1.7976931348623157e308, '1.7976931348623157e+308'], [5e-324, '5e-324'], [0.30000000000000004, '0.30000000000000004'],
  [12345678.9, '12345678.9'], [1e15, '1000000000000000.0'],
];

describe('pythonFloatRepr', () => {
  it.each(PYTHON_FLOAT_REPR)('%s prints as Python prints it', (x, expected) => {
    expect(pythonFloatRepr(x)).toBe(expected);
  });
  it('prints the special values', () => {
    expect(pythonFloatRepr(NaN)).toBe('nan');
    expect(pythonFloatRepr(Infinity)).toBe('inf');
    expect(pythonFloatRepr(-Infinity)).toBe('-inf');
  });
  it('prints bools and ints', () => {
    expect(pythonBoolRepr(true)).toBe('True');
    expect(pythonBoolRepr(false)).toBe('False');
    expect(pythonIntRepr(63)).toBe('63');
  });
});

const SEED_DEFAULTS = {
  save: true, run_name: '', reduced_size: null, augmenter: 'AugmenterTPT', loss: 'defaultTPT', n_aug: 63, n_patches: 0,
  overlap: 0.0, augmix: true, severity: 2, learning_rate: 0.005, selection_p_all: 0.1, selection_p_patch: 0.9, shard: null,
} as const;

describe('generateRunName (the seed generate_run_name, expected names printed by the seed\'s function in CPython)', () => {
  it('names the default config', () => {
    expect(generateRunName({ ...SEED_DEFAULTS })).toBe(
      'size=Full_augmenter=AugmenterTPT_loss=defaultTPT_naug=63_npatch=0_overlap=0.0_augmix=True_severity=2_lr=0.005_spall=0.1_sppat=0.9',
    );
  });
  it('prefixes run_name and prints floats and sizes as Python', () => {
    expect(
      generateRunName({
        ...SEED_DEFAULTS, augmenter: 'PatchAugmenter', loss: 'crossentropy_hard1', n_aug: 4, n_patches: 16, overlap: 0.8,
        augmix: false, reduced_size: 500, learning_rate: 1e-5, run_name: 'exp',
      }),
    ).toBe(
      'exp_size=500_augmenter=PatchAugmenter_loss=crossentropy_hard1_naug=4_npatch=16_overlap=0.8_augmix=False_severity=2_lr=1e-05_spall=0.1_sppat=0.9',
    );
  });
  it('treats reduced_size 0 as Full and prints 1 as 1.0', () => {
    expect(generateRunName({ ...SEED_DEFAULTS, reduced_size: 0, selection_p_all: 1 })).toBe(
      'size=Full_augmenter=AugmenterTPT_loss=defaultTPT_naug=63_npatch=0_overlap=0.0_augmix=True_severity=2_lr=0.005_spall=1.0_sppat=0.9',
    );
  });
  it('uses tmp when save is false', () => {
    expect(generateRunName({ ...SEED_DEFAULTS, save: false })).toBe('tmp');
  });
  it('gives each shard its own folder', () => {
    expect(generateRunName({ ...SEED_DEFAULTS, shard: '1/4' })).toMatch(/_sppat=0\.9_shard=1of4$/);
  });
});

describe('run names of sweeps over keys the seed name leaves out', () => {
  const base = loadConfig(undefined, ['augmix=true']);
  const seedName = 'size=Full_augmenter=AugmenterTPT_loss=defaultTPT_naug=63_npatch=0_overlap=0.0_augmix=True_severity=2_lr=0.005_spall=0.1_sppat=0.9';
  it('keeps the seed name for a config at its defaults, and ignores result-neutral keys', () => {
    expect(generateRunName(base)).toBe(seedName);
    expect(generateRunName({ ...base, out_dir: 'elsewhere', workers: 3, num_workers: 1, backend: 'wasm', save_imgs: false, save_logits: true })).toBe(seedName);
  });
  it.each([
    ['tta_steps', [0, 1, 2, 4]],
    ['seed', [1337, 1, 2, 3]],
    ['ctx_init', ['', 'a photo of a', 'a picture of a', 'an image of a']],
    ['clip_weights', ['weights/RN50.pt', 'weights/ViT-B-16', 'weights/RN101', 'weights/ViT-B-32']],
    ['coop_weight_path', ['./model.pth.tar-50', '', 'coop/vit.pth.tar', 'coop/rn101.pth.tar']],
  ] as const)('gives each value of %s its own name', (key, values) => {
    const names = values.map((v) => generateRunName({ ...base, [key]: v }));
    expect(new Set(names).size).toBe(values.length);
    for (const n of names) expect(n.startsWith(seedName)).toBe(true);
  });
  it('names the method in words and hashes its hyperparameters', () => {
    const methods = ['tpt', 'c-tpt', 'r-tpt', 'zero', 'mta'] as const;
    const names = methods.map((method) => generateRunName({ ...base, method }));
    expect(names[0]).toBe(seedName);
    expect(names.slice(1)).toEqual(methods.slice(1).map((m) => `${seedName}_method=${m}`));
    expect(generateRunName({ ...base, method: 'zero', zero_gamma: 0.1 })).toMatch(/_method=zero_cfg=[0-9a-f]{8}$/);
  });
  it('is stable: the hash depends on the values only, not on the order of keys', () => {
    const a = generateRunName({ ...base, seed: 2, tta_steps: 3 });
    const { seed, tta_steps, ...rest } = { ...base, seed: 2, tta_steps: 3 };
    expect(generateRunName({ tta_steps, ...rest, seed })).toBe(a);
    expect(a).toMatch(/_cfg=[0-9a-f]{8}$/);
    expect(hashedSettings({ ...base, seed: 2, tta_steps: 3 })).toEqual([['seed', 2], ['tta_steps', 3]]);
  });
  it('puts the hash before the dataset and the shard', () => {
    expect(generateRunName({ ...base, seed: 2, dataset: 'dtd', shard: '0/2' })).toMatch(/_sppat=0\.9_cfg=[0-9a-f]{8}_dataset=dtd_shard=0of2$/);
  });
});
