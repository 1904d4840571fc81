import { crossentropyHard1Loss } from './crossentropy-hard1.js';
import { crossentropyHard5Loss } from './crossentropy-hard5.js';
import { crossentropySoftLoss } from './crossentropy-soft.js';
import { defaultTptLoss } from './default-tpt.js';
import { patchLoss1 } from './patch-loss1.js';
import { patchLoss2 } from './patch-loss2.js';
import { patchLoss3 } from './patch-loss3.js';
import { patchLoss4 } from './patch-loss4.js';
import { patchLoss5 } from './patch-loss5.js';
import { patchLoss6 } from './patch-loss6.js';
import { LOSS_SPECS, type LossName, type LossSpec } from './names.js';
import type { LossFn } from './types.js';

export type { LossContext, LossFn } from './types.js';
export { LOSS_NAMES, LOSS_SPECS, assertLossConfig, isLossName, type LossName, type LossSpec } from './names.js';

/**
 * The losses' functions (tfjs) by name, next to their specs. Configuration code uses `names.ts` instead,
 * which loads no tensor library.
 */

export interface LossEntry extends LossSpec {
  fn: LossFn;
}

const FUNCTIONS: Record<LossName, LossFn> = {
  defaultTPT: defaultTptLoss,
  patch_loss1: patchLoss1,
  patch_loss2: patchLoss2,
  patch_loss3: patchLoss3,
  patch_loss4: patchLoss4,
  patch_loss5: patchLoss5,
  patch_loss6: patchLoss6,
  crossentropy_soft: crossentropySoftLoss,
  crossentropy_hard1: crossentropyHard1Loss,
  crossentropy_hard5: crossentropyHard5Loss,
};

export const LOSSES = Object.fromEntries(Object.entries(LOSS_SPECS).map(([name, spec]) => [name, { ...spec, fn: FUNCTIONS[name as LossName] }])) as Record<
  LossName,
  LossEntry
>;
