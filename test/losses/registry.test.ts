import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LOSSES, LOSS_NAMES, assertLossConfig, isLossName } from '../../src/losses/registry.js';
import { TptError } from '../../src/errors.js';
import type { LossContext } from '../../src/losses/types.js';

const seedDefaults = { selection_p_all: 0.1, selection_p_patch: 0.9, alpha_exponential_weightening: 1 };
const augmenterTpt = (n_aug: number): LossContext => ({ n_aug, n_patches: 0, ...seedDefaults });
const patches = (n_aug: number, n_patches: number): LossContext => ({ n_aug, n_patches, ...seedDefaults });
/** PatchAugmenter's view count: the original and floor(√n)² patches, each with n_aug augmentations. */
const patchViews = (n_aug: number, n_patches: number) => (n_aug + 1) * (1 + Math.floor(Math.sqrt(n_patches)) ** 2);

describe('loss registry', () => {
  it('lists the seed\'s ten losses and feeds a zod enum', () => {
    expect(LOSS_NAMES).toEqual([
      'defaultTPT',
      'patch_loss1',
      'patch_loss2',
      'patch_loss3',
      'patch_loss4',
      'patch_loss5',
      'patch_loss6',
      'crossentropy_soft',
      'crossentropy_hard1',
      'crossentropy_hard5',
    ]);
    const schema = z.enum(LOSS_NAMES);
    expect(schema.parse('patch_loss3')).toBe('patch_loss3');
    expect(schema.safeParse('patch_loss7').success).toBe(false);
    expect(isLossName('crossentropy_hard5')).toBe(true);
    expect(isLossName('toString')).toBe(false);
    for (const name of LOSS_NAMES) expect(LOSSES[name].description.length).toBeGreaterThan(10);
  });

  it('accepts the seed\'s experiment configurations', () => {
    expect(LOSSES.defaultTPT.validate(augmenterTpt(63), 64)).toBeUndefined();
    for (const name of ['crossentropy_soft', 'crossentropy_hard1', 'crossentropy_hard5'] as const) {
      expect(LOSSES[name].validate(augmenterTpt(63), 64)).toBeUndefined();
      // int(84·0.1) = 8 views of the PatchAugmenter's 85
      expect(LOSSES[name].validate(patches(4, 16), patchViews(4, 16))).toBeUndefined();
    }
    for (const name of ['patch_loss1', 'patch_loss2', 'patch_loss3', 'patch_loss4', 'patch_loss5', 'patch_loss6'] as const) {
      expect(LOSSES[name].validate(patches(4, 16), 85)).toBeUndefined();
      expect(LOSSES[name].validate(patches(2, 4), 15)).toBeUndefined();
    }
  });

  it('refuses a selection that keeps no view, saying what to change', () => {
    const message = LOSSES.defaultTPT.validate(augmenterTpt(4), 5);
    expect(message).toMatch(/int\(5·0\.1\) = 0/);
    expect(message).toMatch(/raise selection_p_all to at least 0\.2/);
    expect(LOSSES.crossentropy_hard1.validate(augmenterTpt(9), 10)).toMatch(/int\(9·0\.1\) = 0/);
    // the suggested value must itself work: 1/3 rounded down would keep int(3·0.3333) = 0
    expect(LOSSES.defaultTPT.validate({ ...augmenterTpt(2), selection_p_all: 0.3 }, 3)).toMatch(/at least 0\.3334 /);
    expect(LOSSES.defaultTPT.validate({ ...augmenterTpt(2), selection_p_all: 0.3334 }, 3)).toBeUndefined();
    expect(LOSSES.crossentropy_soft.validate(augmenterTpt(0), 1)).toMatch(/at least one augmented view/);
    // n_aug 0: int(1·0.9) = 0 rows per group
    expect(LOSSES.patch_loss3.validate(patches(0, 4), 5)).toMatch(/selection_p_patch/);
    expect(LOSSES.defaultTPT.validate({ ...augmenterTpt(63), selection_p_all: 0 }, 64)).toMatch(/must be in \(0, 1\]/);
  });

  it('refuses patch losses whose n_patches+1 groups do not exist (the seed\'s IndexError)', () => {
    // n_patches 5 is not a square: PatchAugmenter crops 4 patches, so 5 groups of 3 views, not 6
    const nonSquare = LOSSES.patch_loss1.validate(patches(2, 5), patchViews(2, 5));
    expect(nonSquare).toMatch(/not a perfect square/);
    expect(nonSquare).toMatch(/4, 9, 16/);
    expect(LOSSES.patch_loss4.validate(patches(2, 5), patchViews(2, 5))).toMatch(/only 5 exist/);
    // AugmenterTPT's 64 views with a patch loss
    expect(LOSSES.patch_loss3.validate(patches(4, 16), 64)).toMatch(/not a multiple of 5/);
    expect(LOSSES.patch_loss2.validate(patches(4, 0), 5)).toMatch(/no patches/);
  });

  it('patch_loss5/6 use every group and no selection, so only the reshape must work', () => {
    expect(LOSSES.patch_loss5.validate(patches(2, 5), patchViews(2, 5))).toBeUndefined();
    expect(LOSSES.patch_loss6.validate(patches(0, 4), 5)).toBeUndefined();
    expect(LOSSES.patch_loss6.validate(patches(4, 16), 64)).toMatch(/not a multiple of 5/);
  });

  it('assertLossConfig throws a TptError with the reason and a hint', () => {
    expect(() => assertLossConfig('defaultTPT', augmenterTpt(63), 64)).not.toThrow();
    let caught: unknown;
    try {
      assertLossConfig('defaultTPT', augmenterTpt(4), 5);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TptError);
    expect((caught as TptError).code).toBe('CONFIG_INVALID');
    expect((caught as TptError).message).toMatch(/loss defaultTPT cannot run with 5 views per image: .*int\(5·0\.1\) = 0/);
    expect((caught as TptError).hint).toMatch(/selection_p_all/);
  });
});
