/**
 * Zero (Farina et al., NeurIPS 2024), transcribed from FarinaMatteo/zero@c609f7c27bd83a9c898c5bb0256f8272e4d973e3:
 * - ttas/zero.py::Zero.zero: l = z_img·z_txtᵀ (unscaled); p = softmax(l / temp), temp = 1/exp(logit_scale);
 *   ttas/base.py::confidence_filter keeps the int(V·γ) views of lowest entropy −Σ p·log p (γ = 0.3 in
 *   Zero.set_hyperparams since 2024-10-07, commit 9737ffb; the paper's 0.1); p̄ = Σ over them of
 *   softmax(l / ε), ε = float32 eps (a one-hot of each view's argmax: the vote counts);
 * - ties for the most votes: utils/tools.py::greedy_break (as fixed on 2024-11-05, commit cbd7949, issue #2)
 *   walks the remaining views in ascending entropy and gives the tie to the first whose argmax is a tied class,
 *   then p̄[winner] += 1. Where no remaining view predicts a tied class, its break_sample_tie means the argmax
 *   of the most confident remaining view's logits over the tied classes; the code writes `logit[~ties]` on an
 *   int tensor, which masks the classes −(t+1) (bitwise not) instead of the untied ones — the documented rule
 *   is taken here.
 * Final scores: p̄ (the vote counts, the winner of a tie +1). Views: view 0 and random resized crops with flips,
 * never AugMix (data/augs.py::MultiViewCropAndFlip).
 */
import type { TptConfig } from '../../config/schema.js';
import type { ClipTowers } from '../../engine/towers.js';
import { argsortAscending } from '../../losses/selection.js';
import { FeatureTuner, hostLogits, type FeatureInputs } from './feature-tuner.js';
import { hyperparameterValue, METHOD_SPECS } from './names.js';
import type { EpisodicMethod } from './types.js';

/** torch.finfo(torch.float32).eps, Zero's "zero temperature". */
export const FLOAT32_EPS = 2 ** -23;

/** Index of the first largest value (torch.argmax). */
export function argmaxOf(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}

/** softmax(row / temperature) into `out`, in float64. */
function softmaxInto(row: ArrayLike<number>, offset: number, length: number, temperature: number, out: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < length; c++) max = Math.max(max, row[offset + c]! / temperature);
  let sum = 0;
  for (let c = 0; c < length; c++) {
    out[c] = Math.exp(row[offset + c]! / temperature - max);
    sum += out[c]!;
  }
  for (let c = 0; c < length; c++) out[c] = out[c]! / sum;
}

/** Per-view entropy −Σ p·log p of softmax(l / temp), as confidence_filter computes it. */
export function viewEntropies(logits: Float64Array, views: number, classes: number, temperature: number): Float64Array {
  const out = new Float64Array(views);
  const p = new Float64Array(classes);
  for (let v = 0; v < views; v++) {
    softmaxInto(logits, v * classes, classes, temperature, p);
    let h = 0;
    for (let c = 0; c < classes; c++) h -= p[c]! * Math.log(p[c]!);
    // torch sorts a NaN entropy (0·log 0) after every number; argsortAscending sorts by value, so map it to +∞.
    out[v] = Number.isNaN(h) ? Infinity : h;
  }
  return out;
}

/**
 * greedy_break: the first of `remaining` (views in ascending entropy) whose argmax is a tied class; else the
 * tied class with the largest logit in the first remaining view.
 */
export function breakTie(ties: readonly number[], logits: Float64Array, classes: number, remaining: readonly number[]): number {
  for (const view of remaining) {
    const prediction = argmaxOf(logits, view * classes, classes);
    if (ties.includes(prediction)) return prediction;
  }
  const first = remaining[0]!;
  let best = ties[0]!;
  for (const c of ties) if (logits[first * classes + c]! > logits[first * classes + best]!) best = c;
  return best;
}

/** Zero's final scores for one sample: the vote counts of the int(V·γ) most confident views, a tie's winner +1. */
export function zeroScores(inputs: FeatureInputs, gamma: number): Float64Array {
  const { image, views, text, classes, dim, logitScale } = inputs;
  const l = hostLogits(image, views, text, classes, dim);
  const sorted = argsortAscending(viewEntropies(l, views, classes, 1 / logitScale));
  const kept = Math.trunc(views * gamma);
  const votes = new Float64Array(classes);
  const p = new Float64Array(classes);
  for (const view of sorted.slice(0, kept)) {
    softmaxInto(l, view * classes, classes, FLOAT32_EPS, p);
    for (let c = 0; c < classes; c++) votes[c] = votes[c]! + p[c]!;
  }
  const top = argmaxOf(votes);
  const ties = [top];
  for (let c = 0; c < classes; c++) if (c !== top && votes[c] === votes[top]) ties.push(c);
  if (ties.length > 1) {
    const winner = breakTie(ties, l, classes, sorted.slice(kept));
    votes[winner] = votes[winner]! + 1;
  }
  return votes;
}

export const zeroMethod: EpisodicMethod = {
  ...METHOD_SPECS.zero,
  createTuner: (towers: ClipTowers, config: TptConfig) => {
    const gamma = hyperparameterValue(config, 'zero_gamma');
    return new FeatureTuner(towers, (inputs) => zeroScores(inputs, gamma));
  },
};
