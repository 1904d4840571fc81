/**
 * DMN-ZS (Zhang et al., CVPR 2024), the zero-shot dynamic memory, transcribed from
 * YBZh/DMN@c6c218c70ebbc701b31cc3d7f7b9597117daad8e, dmn_main.py (n_shot 0, as scripts/run.sh's zero-shot runs):
 * - direct_inference: probabilities of every view softmax(logit_scale·F·Tᵀ) (DualMem.get_text_prediction);
 *   select_confident_samples keeps the int(0.1·V) views of lowest −Σ p·log(p + 1e-6); their mean is the
 *   pseudo-label distribution (dmnet.init_pred). Weak (one view): int(0.1·1) = 0 views would be kept, an empty
 *   mean; the one view's probabilities are taken instead (TTA-VLM's dmn_weak does the same).
 * - DualMem.update_memory_bank (BEFORE the sample is scored): label = argmax of that mean, entropy
 *   −Σ p·log(p + 1e-8); view 0's feature enters the label's memory (memory_size 50 per class); a full memory
 *   replaces its highest-entropy entry, only if the new entropy is lower than some entry's.
 * - DualMem.get_image_pred ('similarity_weighted'; the mapping biases are zero-initialised parameters never
 *   trained at n_shot 0, so they add nothing): per class, the memory plus the class's text feature
 *   (fixed_global_feat_vanilla), renormalised; weights exp(−β(1 − q·m)), β = 5.5 (--beta), q = view 0's
 *   feature; the class's feature = normalize(Σ w·m); scores softmax(logit_scale·q·feature).
 * - final: pred_vanilla·1 + pred_global·β₂ with pred_vanilla = view 0's text softmax. The official code picks β₂
 *   AFTER the run from a grid (0.001 … 1000) by accuracy on the test labels; a label-free run cannot, so β₂ is
 *   a config key (`dmn_weight`), 1.0 by default as in TTA-VLM's re-implementation.
 * The official text classifier averages CLIP templates and CuPL descriptions (text_prompt tip_cupl); here it is
 * the run's classifier (the initial prompt, or a template ensemble with `templates`).
 */
import { argsortAscending } from '../../losses/selection.js';
import type { FeatureInputs } from './feature-tuner.js';
import { decodeFloat32, encodeFloat32, type OnlineAlgorithm } from './online.js';
import { argmaxOf } from './zero.js';

export const DMN_VIEW_FRACTION = 0.1;

export interface DmnSettings {
  beta: number;
  weight: number;
  memorySize: number;
}

interface MemoryEntry {
  feature: Float32Array;
  entropy: number;
}

interface DmnUpdate {
  label: number;
  feature: Float32Array;
  entropy: number;
}

function softmaxRow(values: ArrayLike<number>, offset: number, length: number, scale: number): Float64Array {
  let max = -Infinity;
  for (let c = 0; c < length; c++) max = Math.max(max, scale * values[offset + c]!);
  const out = new Float64Array(length);
  let sum = 0;
  for (let c = 0; c < length; c++) sum += out[c] = Math.exp(scale * values[offset + c]! - max);
  for (let c = 0; c < length; c++) out[c] = out[c]! / sum;
  return out;
}

function unit(values: ArrayLike<number>, offset: number, dim: number): Float64Array {
  const out = new Float64Array(dim);
  let norm = 0;
  for (let e = 0; e < dim; e++) norm += values[offset + e]! ** 2;
  norm = Math.sqrt(norm);
  for (let e = 0; e < dim; e++) out[e] = values[offset + e]! / norm;
  return out;
}

export class DynamicMemory implements OnlineAlgorithm {
  readonly memory = new Map<number, MemoryEntry[]>();

  constructor(readonly settings: DmnSettings) {}

  apply(update: DmnUpdate): void {
    const list = this.memory.get(update.label) ?? [];
    this.memory.set(update.label, list);
    if (list.length < this.settings.memorySize) {
      list.push({ feature: update.feature, entropy: update.entropy });
      return;
    }
    if (!list.some((m) => update.entropy < m.entropy)) return;
    // torch.sort ascending, its last index: the highest entropy (the later slot among equal ones).
    let worst = 0;
    for (let i = 1; i < list.length; i++) if (list[i]!.entropy >= list[worst]!.entropy) worst = i;
    list[worst] = { feature: update.feature, entropy: update.entropy };
  }

  step(inputs: FeatureInputs): { scores: Float64Array; update: unknown } {
    const { image, views, text, classes, dim, logitScale } = inputs;
    // Pseudo-label: the mean probabilities of the confident views (DualMem.init_pred).
    const probs = Array.from({ length: views }, (_, v) => {
      const row = new Float64Array(classes);
      for (let c = 0; c < classes; c++) {
        let s = 0;
        for (let e = 0; e < dim; e++) s += image[v * dim + e]! * text[c * dim + e]!;
        row[c] = s;
      }
      return softmaxRow(row, 0, classes, logitScale);
    });
    let kept: number[];
    if (views === 1) {
      kept = [0];
    } else {
      const entropies = probs.map((p) => {
        let h = 0;
        for (let c = 0; c < classes; c++) h -= p[c]! * Math.log(p[c]! + 1e-6);
        return h;
      });
      kept = argsortAscending(entropies).slice(0, Math.trunc(views * DMN_VIEW_FRACTION));
    }
    const mean = new Float64Array(classes);
    for (const v of kept) for (let c = 0; c < classes; c++) mean[c] = mean[c]! + probs[v]![c]!;
    let entropy = 0;
    for (let c = 0; c < classes; c++) {
      mean[c] = mean[c]! / kept.length;
      entropy -= mean[c]! * Math.log(mean[c]! + 1e-8);
    }
    // image_entropy_mem is a float32 tensor: entries and the comparisons with them are float32 values (a
    // near-uniform prediction's entropies differ in the 7th digit, where float64 would order them otherwise).
    entropy = Math.fround(entropy);
    const update: DmnUpdate = { label: argmaxOf(mean), feature: image.slice(0, dim), entropy };
    this.apply(update);
    const global = this.memoryScores(image.subarray(0, dim), text, classes, dim, logitScale);
    const scores = new Float64Array(classes);
    for (let c = 0; c < classes; c++) scores[c] = probs[0]![c]! + this.settings.weight * global[c]!;
    return { scores, update: { label: update.label, feature: encodeFloat32(update.feature), entropy } };
  }

  /** DualMem.get_image_pred: softmax over classes of logit_scale·q·normalize(Σ exp(−β(1 − q·m))·m). */
  memoryScores(query: Float32Array, text: Float32Array, classes: number, dim: number, logitScale: number): Float64Array {
    const q = unit(query, 0, dim);
    const logits = new Float64Array(classes);
    for (let c = 0; c < classes; c++) {
      const slots = [...(this.memory.get(c) ?? []).map((m) => unit(m.feature, 0, dim)), unit(text, c * dim, dim)];
      const adaptive = new Float64Array(dim);
      for (const m of slots) {
        let similarity = 0;
        for (let e = 0; e < dim; e++) similarity += q[e]! * m[e]!;
        const w = Math.exp(-this.settings.beta * (1 - similarity));
        for (let e = 0; e < dim; e++) adaptive[e] = adaptive[e]! + w * m[e]!;
      }
      const a = unit(adaptive, 0, dim);
      let logit = 0;
      for (let e = 0; e < dim; e++) logit += a[e]! * query[e]!;
      logits[c] = logitScale * logit;
    }
    return softmaxRow(logits, 0, classes, 1);
  }

  replay(encoded: unknown): void {
    const { label, feature, entropy } = encoded as { label: number; feature: string; entropy: number };
    this.apply({ label, feature: decodeFloat32(feature), entropy });
  }
}
