/**
 * MTA (Zanella & Ben Ayed, CVPR 2024), transcribed from MaxZanella/MTA@cafafdfa2918d3e9e45eb711f6aed8e3582fcb8d,
 * mta.py::solve_mta (with gaussian_kernel):
 * - logits = logit_scale · F·Tᵀ of the views' unit features F [V, E] and the prompt's text features T;
 *   affinity A = softmax(logits)·softmax(logits)ᵀ;
 * - bandwidth of view j: sqrt(0.5 · mean of its k smallest squared distances to the other views),
 *   k = int(0.3·(V−1)) (torch.cdist, sorted, the first column — the view itself — left out);
 * - y = 1/V, mode = F[0]; 5 outer iterations of: the density at the mode, exp(−‖f_j − mode‖² / (2h_j²));
 *   up to 5 inlierness updates y = softmax((density + λ_q·A·y) / λ_y), stopping once ‖Δy‖ < 1e-6; up to 5
 *   mode updates mode = normalize(Σ_j density_j(mode)·y_j·f_j / Σ_j density_j(mode)·y_j), stopping once
 *   ‖Δmode‖ < 1e-6 (max_iter = 5 and th = 1e-6 for all three loops, as in the code);
 * - output = logit_scale · mode·Tᵀ.
 * λ_q = 4, λ_y = 0.2 (main.py). No gradient; everything here is float64 host arithmetic on [V, E] features
 * (the official forward runs under CUDA autocast, so its features are fp16; `tpt` is fp32 throughout).
 */
import type { TptConfig } from '../../config/schema.js';
import type { ClipTowers } from '../../engine/towers.js';
import { FeatureTuner, hostLogits, type FeatureInputs } from './feature-tuner.js';
import { hyperparameterValue, METHOD_SPECS } from './names.js';
import type { EpisodicMethod } from './types.js';

export const MTA_MAX_ITER = 5;
export const MTA_THRESHOLD = 1e-6;

/** Per-view bandwidths: sqrt(0.5 · mean of the k = int(0.3·(V−1)) smallest squared distances to other views). */
export function mtaBandwidths(image: Float32Array, views: number, dim: number): Float64Array {
  const k = Math.trunc(0.3 * (views - 1));
  const out = new Float64Array(views);
  const distances = new Float64Array(views);
  for (let i = 0; i < views; i++) {
    for (let j = 0; j < views; j++) {
      let sum = 0;
      for (let e = 0; e < dim; e++) {
        const d = image[i * dim + e]! - image[j * dim + e]!;
        sum += d * d;
      }
      distances[j] = Math.sqrt(sum);
    }
    // The sort's first entry is the view itself (distance 0), as sorted_dist[:, 1:k+1] assumes.
    const sorted = Array.from(distances).sort((a, b) => a - b);
    let mean = 0;
    for (let r = 1; r <= k; r++) mean += sorted[r]! ** 2;
    out[i] = Math.sqrt(0.5 * (mean / k));
  }
  return out;
}

function densityAt(mode: Float64Array, image: Float32Array, bandwidth: Float64Array, views: number, dim: number): Float64Array {
  const out = new Float64Array(views);
  for (let j = 0; j < views; j++) {
    let sum = 0;
    for (let e = 0; e < dim; e++) {
      const d = image[j * dim + e]! - mode[e]!;
      sum += d * d;
    }
    out[j] = Math.exp(-sum / (2 * bandwidth[j]! ** 2));
  }
  return out;
}

function norm(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}

/** The mode MTA converges to, [E] (unit norm), from the views' features and the affinity of their predictions. */
export function mtaMode(inputs: FeatureInputs, lambdaQ: number, lambdaY: number): Float64Array {
  const { image, views, text, classes, dim, logitScale } = inputs;
  const logits = hostLogits(image, views, text, classes, dim, logitScale);
  // softmax rows, then A = P·Pᵀ
  const probabilities = new Float64Array(views * classes);
  for (let v = 0; v < views; v++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[v * classes + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += probabilities[v * classes + c] = Math.exp(logits[v * classes + c]! - max);
    for (let c = 0; c < classes; c++) probabilities[v * classes + c] = probabilities[v * classes + c]! / sum;
  }
  const affinity = new Float64Array(views * views);
  for (let i = 0; i < views; i++) {
    for (let j = 0; j < views; j++) {
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += probabilities[i * classes + c]! * probabilities[j * classes + c]!;
      affinity[i * views + j] = sum;
    }
  }
  const bandwidth = mtaBandwidths(image, views, dim);
  let y = new Float64Array(views).fill(1 / views);
  let mode = Float64Array.from(image.subarray(0, dim));
  for (let outer = 0; outer < MTA_MAX_ITER; outer++) {
    // Inlierness step (the density at the current mode, fixed during it).
    const density = densityAt(mode, image, bandwidth, views, dim);
    for (let i = 1; ; i++) {
      const previous = y;
      const exponents = new Float64Array(views);
      for (let a = 0; a < views; a++) {
        let weighted = 0;
        for (let b = 0; b < views; b++) weighted += affinity[a * views + b]! * previous[b]!;
        exponents[a] = (1 / lambdaY) * (density[a]! + lambdaQ * weighted);
      }
      const max = Math.max(...exponents);
      let sum = 0;
      y = new Float64Array(views);
      for (let a = 0; a < views; a++) sum += y[a] = Math.exp(exponents[a]! - max);
      for (let a = 0; a < views; a++) y[a] = y[a]! / sum;
      if (norm(previous, y) < MTA_THRESHOLD || i >= MTA_MAX_ITER) break;
    }
    // Mode step.
    for (let i = 1; ; i++) {
      const previous = mode;
      const weights = densityAt(previous, image, bandwidth, views, dim);
      let total = 0;
      for (let j = 0; j < views; j++) total += weights[j] = weights[j]! * y[j]!;
      mode = new Float64Array(dim);
      for (let j = 0; j < views; j++) for (let e = 0; e < dim; e++) mode[e] = mode[e]! + weights[j]! * image[j * dim + e]!;
      let length = 0;
      for (let e = 0; e < dim; e++) length += (mode[e] = mode[e]! / total) ** 2;
      length = Math.sqrt(length);
      for (let e = 0; e < dim; e++) mode[e] = mode[e]! / length;
      if (norm(previous, mode) < MTA_THRESHOLD || i >= MTA_MAX_ITER) break;
    }
  }
  return mode;
}

/** MTA's final scores: logit_scale · mode·Tᵀ. */
export function mtaScores(inputs: FeatureInputs, lambdaQ: number, lambdaY: number): Float64Array {
  const mode = mtaMode(inputs, lambdaQ, lambdaY);
  return hostLogits(mode, 1, inputs.text, inputs.classes, inputs.dim, inputs.logitScale);
}

export const mtaMethod: EpisodicMethod = {
  ...METHOD_SPECS.mta,
  createTuner: (towers: ClipTowers, config: TptConfig) => {
    const lambdaQ = hyperparameterValue(config, 'mta_lambda_q');
    const lambdaY = hyperparameterValue(config, 'mta_lambda_y');
    return new FeatureTuner(towers, (inputs) => mtaScores(inputs, lambdaQ, lambdaY));
  },
};
