import { readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { configToHparams } from '../../src/metrics/hparams.js';
import { TptError } from '../../src/errors.js';
import { atfd } from '../../src/tta/methods/ctpt.js';
import type { FeatureInputs } from '../../src/tta/methods/feature-tuner.js';
import { mtaBandwidths } from '../../src/tta/methods/mta.js';
import { hyperparameterValue, isImagenetFamily, METHOD_NAMES, METHOD_SPECS, methodLabel } from '../../src/tta/methods/names.js';
import { METHODS } from '../../src/tta/methods/registry.js';
import { reliabilityWeights } from '../../src/tta/methods/rtpt.js';
import { breakTie, zeroScores } from '../../src/tta/methods/zero.js';

/** The methods' pieces on hand-made inputs (the goldens cover them on real features), and their config checks. */

function errorOf(f: () => unknown): TptError {
  try {
    f();
  } catch (e) {
    if (e instanceof TptError) return e;
    throw e;
  }
  throw new Error('expected a TptError');
}

function unit(...v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe('Zero', () => {
  // 3 classes, one-hot text features: a view's logits are its feature's coordinates.
  const text = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const l = (rows: number[][]) => Float64Array.from(rows.flat());

  it('gives a tie to the first remaining view (ascending entropy) that predicts a tied class', () => {
    expect(breakTie([0, 1], l([[0, 0, 1], [0, 1, 0], [1, 0, 0]]), 3, [0, 1, 2])).toBe(1);
    expect(breakTie([0, 1], l([[0, 0, 1], [0, 1, 0], [1, 0, 0]]), 3, [2, 1])).toBe(0);
  });

  it('falls back to the tied class the first remaining view scores highest when no view predicts one', () => {
    expect(breakTie([0, 2], l([[0.3, 0.9, 0.5], [0.1, 0.8, 0.0]]), 3, [0, 1])).toBe(2);
    expect(breakTie([0, 2], l([[0.3, 0.9, 0.5], [0.1, 0.8, 0.0]]), 3, [1, 0])).toBe(0);
  });

  it('counts the votes of the int(V·γ) most confident views and adds 1 to the tie-break winner', () => {
    const views = [
      unit(1, 0, 0), unit(1, 0, 0), unit(0, 1, 0), unit(0, 1, 0), // the 4 most confident: 2 votes each for 0 and 1
      unit(0.1, 0.1, 1), // next most confident: predicts 2, not tied
      unit(0.3, 0.9, 0.3), // then 1: wins the tie
      unit(1, 1, 1), unit(1, 1, 1),
    ];
    const inputs: FeatureInputs = { image: Float32Array.from(views.flat()), views: 8, text, classes: 3, dim: 3, logitScale: 100 };
    expect(Array.from(zeroScores(inputs, 0.5))).toEqual([2, 3, 0]);
    // Without a tie nothing is added: γ 0.375 keeps int(3) = 3 views, 2 votes for class 0.
    expect(Array.from(zeroScores(inputs, 0.375))).toEqual([2, 1, 0]);
  });
});

describe('MTA', () => {
  it("sets each view's bandwidth to sqrt(0.5·mean squared distance) over its int(0.3·(V−1)) nearest others", () => {
    // 5 views on a circle: k = int(1.2) = 1, the nearest neighbour only.
    const angles = [0, 0.1, 0.3, 0.7, 1.5];
    const image = Float32Array.from(angles.flatMap((a) => [Math.cos(a), Math.sin(a)]));
    const chord = (a: number, b: number) => 2 * Math.sin(Math.abs(a - b) / 2);
    const nearest = angles.map((a, i) => Math.min(...angles.filter((_, j) => j !== i).map((b) => chord(a, b))));
    const bandwidths = mtaBandwidths(image, 5, 2);
    nearest.forEach((d, i) => expect(bandwidths[i]).toBeCloseTo(Math.sqrt(0.5 * d * d), 6));
  });
});

describe('R-TPT', () => {
  it('weights each view by softmax(mean of its top-k similarities to the OTHER views / temperature)', () => {
    const image = Float32Array.from([unit(1, 0), unit(1, 0.1), unit(0, 1)].flat());
    const weights = reliabilityWeights(image, 3, 2, 1, 0.01);
    const s01 = unit(1, 0)[0]! * unit(1, 0.1)[0]!;
    const s12 = unit(1, 0.1)[1]!;
    const scores = [s01, s01, s12];
    const z = scores.map((s) => Math.exp(s / 0.01));
    const total = z.reduce((a, b) => a + b);
    weights.forEach((w, i) => expect(w).toBeCloseTo(z[i]! / total, 9));
  });
});

describe('C-TPT', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('ATFD is the mean distance of the text features to their mean', () => {
    const value = tf.tidy(() => atfd(tf.tensor2d([[1, 0], [0, 1], [0, 1], [0, 1]])).dataSync()[0]!);
    // mean (0.25, 0.75): distances √(0.75²+0.75²) once and √(0.25²+0.25²) three times
    expect(value).toBeCloseTo((Math.SQRT2 * 0.75 + 3 * Math.SQRT2 * 0.25) / 4, 6);
  });

  it('λ defaults to 20 on the ImageNet sets and 50 on others', () => {
    expect(isImagenetFamily('imagenet-a') && isImagenetFamily('imagenet')).toBe(true);
    expect(isImagenetFamily('flowers102')).toBe(false);
    const base = { method: 'c-tpt' as const, ctpt_lambda: null };
    expect(hyperparameterValue({ ...base, dataset: 'imagenet-r' }, 'ctpt_lambda')).toBe(20);
    expect(hyperparameterValue({ ...base, dataset: 'dtd' }, 'ctpt_lambda')).toBe(50);
    expect(hyperparameterValue({ ...base, ctpt_lambda: 5, dataset: 'dtd' }, 'ctpt_lambda')).toBe(5);
  });
});

describe('the registry and the config', () => {
  it('has one entry per method name, each with its spec and its source', () => {
    expect(Object.keys(METHODS).sort()).toEqual([...METHOD_NAMES].sort());
    for (const name of METHOD_NAMES) {
      expect(METHODS[name].title).toBe(METHOD_SPECS[name].title);
      expect(METHODS[name].source.commit).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(METHOD_SPECS.zero.textGradient || METHOD_SPECS.mta.textGradient).toBe(false);
  });

  it('accepts each method with its official settings, and tpt by default', () => {
    expect(loadConfig(undefined, []).method).toBe('tpt');
    expect(loadConfig(undefined, ['method=c-tpt', 'ctpt_lambda=20', 'loss=crossentropy_soft']).ctpt_lambda).toBe(20);
    expect(loadConfig(undefined, ['method=r-tpt', 'rtpt_top_k=10']).rtpt_top_k).toBe(10);
    expect(loadConfig(undefined, ['method=zero', 'augmix=false']).method).toBe('zero');
    expect(loadConfig(undefined, ['method=mta', 'augmix=false', 'mta_lambda_y=0.5']).mta_lambda_y).toBe(0.5);
  });

  it('refuses, one line each, keys the method does not use', () => {
    const e = errorOf(() => loadConfig(undefined, ['zero_gamma=0.2', 'mta_lambda_q=2']));
    expect(e.message.split('\n')).toEqual([
      'config: zero_gamma: applies to method zero only, not tpt; remove it or set it to null',
      'config: mta_lambda_q: applies to method mta only, not tpt; remove it or set it to null',
    ]);
    expect(e.hint).toMatch(/configs\/methods\/tpt\.json/);
    expect(errorOf(() => loadConfig(undefined, ['method=r-tpt', 'loss=patch_loss1'])).message).toBe(
      'config: loss: method r-tpt has its own objective, so loss patch_loss1 does not apply; remove loss',
    );
    expect(errorOf(() => loadConfig(undefined, ['method=mta', 'augmix=false', 'tta_steps=2', 'learning_rate=0.01'])).message.split('\n')).toEqual([
      'config: learning_rate: method mta tunes no prompt, so learning_rate does not apply; remove it',
      'config: tta_steps: method mta tunes no prompt, so tta_steps does not apply; remove it',
    ]);
    // augmix null (the default) is the method's rule for crop-and-flip methods, even on a set whose rule is AugMix
    expect(loadConfig(undefined, ['method=zero', 'dataset="dtd"', 'dataset_path="d"']).augmix).toBe(false);
    expect(loadConfig(undefined, ['dataset="dtd"', 'dataset_path="d"']).augmix).toBe(true);
    expect(errorOf(() => loadConfig(undefined, ['method=zero', 'augmix=true'])).message).toBe(
      'config: augmix: method zero uses random crops with flips and never AugMix; set augmix false',
    );
    expect(errorOf(() => loadConfig(undefined, ['method=zero', 'augmix=false', 'augmenter=PatchAugmenter', 'n_patches=4'])).message).toMatch(
      /^config: augmenter: method zero is defined on random crops with flips \(AugmenterTPT\), not PatchAugmenter$/,
    );
  });

  it('refuses view counts a method cannot use, and out-of-range hyperparameters', () => {
    expect(errorOf(() => loadConfig(undefined, ['method=zero', 'augmix=false', 'n_aug=2'])).message).toBe(
      'config: method zero cannot run with 3 views per image: it keeps int(3·zero_gamma 0.3) = 0 views; raise zero_gamma or n_aug',
    );
    expect(errorOf(() => loadConfig(undefined, ['method=r-tpt', 'n_aug=15'])).message).toMatch(/its reliability score averages each view's 20 nearest other views, but there are 15/);
    expect(errorOf(() => loadConfig(undefined, ['method=mta', 'augmix=false', 'n_aug=3'])).message).toMatch(/use at least 5 views/);
    expect(errorOf(() => loadConfig(undefined, ['method=zero', 'zero_gamma=1'])).message).toMatch(/^config: zero_gamma: expected a number/);
    expect(errorOf(() => loadConfig(undefined, ['method=sgd'])).message).toMatch(/^config: method: expected one of "tpt", "c-tpt", "r-tpt", "zero", "mta"/);
  });

  it('configs/methods/ holds one config per method with its official views, each accepted as it is', () => {
    expect(readdirSync('configs/methods').sort()).toEqual(METHOD_NAMES.map((m) => `${m}.json`).sort());
    for (const name of METHOD_NAMES) {
      const config = loadConfig(`configs/methods/${name}.json`, []);
      expect(config.method).toBe(name);
      expect([config.n_aug, config.augmenter, config.ctx_init, config.coop_weight_path]).toEqual([63, 'AugmenterTPT', 'a_photo_of_a', '']);
      // AugMix only where the official code turns it on for ImageNet-A: C-TPT's --I_augmix (severity 1), TDA's
      // get_ood_preprocess (AugMixAugmenter augmix=True on A/V/R/S)
      expect(config.augmix, name).toBe(name === 'c-tpt' || name === 'tda');
      // The online methods' official classifiers average CLIP's seven ImageNet templates (TDA, BoostAdapter:
      // utils.py::clip_classifier; DMN: its 'tip' templates, without the CuPL descriptions tpt does not have)
      expect(config.templates, name).toBe(METHOD_SPECS[name].kind === 'online' ? 'clip-7' : null);
    }
  });

  it('names the method and its values in the banner and the HParams session', () => {
    const config = loadConfig(undefined, ['method=zero', 'augmix=false']);
    expect(configToHparams(config)).toMatchObject({ method: 'zero', zero_gamma: 'None' });
    expect(methodLabel(config)).toBe('zero (Zero; zero_gamma 0.3 (official), no gradient)');
    expect(methodLabel(loadConfig(undefined, []))).toBe('tpt (TPT; loss defaultTPT, 1 step at lr 0.005)');
  });
});
