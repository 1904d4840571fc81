import type { TptConfig } from '../../config/schema.js';
import type { ClipTowers } from '../../engine/towers.js';
import type { MethodName } from './names.js';
import { ctptMethod } from './ctpt.js';
import { mtaMethod } from './mta.js';
import { rtptMethod } from './rtpt.js';
import { tptMethod } from './tpt.js';
import { zeroMethod } from './zero.js';
import { boostadapterMethod, dmnMethod, tdaMethod } from './online-methods.js';
import type { MethodEntry, SampleTuner } from './types.js';

export type { MethodEntry, OnlineMethod, SampleTuner } from './types.js';
export { METHOD_NAMES, METHOD_SPECS, isMethodName, type MethodName, type MethodSpec } from './names.js';

/**
 * The methods' per-sample functions by name, next to their specs (configuration code uses `names.ts`, which
 * loads no tensor library). Adding a method: its spec in names.ts, its file here, one line below.
 */
export const METHODS: Record<MethodName, MethodEntry> = {
  tpt: tptMethod,
  'c-tpt': ctptMethod,
  'r-tpt': rtptMethod,
  zero: zeroMethod,
  mta: mtaMethod,
  tda: tdaMethod,
  'dmn-zs': dmnMethod,
  boostadapter: boostadapterMethod,
};

/** The config's method over these towers: the one place a run, a worker thread and `tpt bench` get their per-sample tuner. */
export function createSampleTuner(config: TptConfig, towers: ClipTowers): SampleTuner {
  return METHODS[config.method].createTuner(towers, config);
}
