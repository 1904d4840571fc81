import * as tf from '@tensorflow/tfjs-core';
import { TptError } from '../errors.js';

export interface AdamWOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weight_decay?: number;
}

/** Gradients keyed by variable name (what tf.variableGrads returns) or by the variable itself. */
export type AdamWGradients = Record<string, tf.Tensor> | Map<tf.Variable, tf.Tensor>;

interface ParameterState {
  variable: tf.Variable;
  /** exp_avg and exp_avg_sq; undefined until the first step, as torch creates state lazily. */
  expAvg: tf.Tensor | undefined;
  expAvgSq: tf.Tensor | undefined;
  step: number;
}

/**
 * torch.optim.AdamW as PyTorch 1.13 computes it (single-tensor path, amsgrad off, maximize off):
 *
 *     step += 1
 *     param *= 1 − lr·weight_decay                      # decoupled decay, before the moments
 *     exp_avg    = β1·exp_avg    + (1 − β1)·grad
 *     exp_avg_sq = β2·exp_avg_sq + (1 − β2)·grad²
 *     step_size  = lr / (1 − β1^step)
 *     denom      = sqrt(exp_avg_sq) / sqrt(1 − β2^step) + eps
 *     param     += −step_size · exp_avg / denom
 *
 * The scalar factors are computed in float64 as Python does and enter the float32 tensor arithmetic rounded
 * to float32, as torch's CPU kernels round Python scalars. Defaults are torch's: lr 1e-3, betas (0.9, 0.999),
 * eps 1e-8, weight_decay 0.01 (the seed passes only lr).
 *
 * The optimizer owns its moment tensors; `reset()` returns it to the state the seed reloads before every
 * sample (`optimizer.load_state_dict(optim_state)` of a fresh optimizer: no step taken, no moments), and
 * `dispose()` frees them. Gradients passed to `step` stay owned by the caller.
 */
export class AdamW {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly states: ParameterState[];

  constructor(variables: readonly tf.Variable[], options: AdamWOptions = {}) {
    this.lr = options.lr ?? 1e-3;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weight_decay ?? 0.01;
    for (const [name, value] of [
      ['lr', this.lr],
      ['eps', this.eps],
      ['weight_decay', this.weightDecay],
    ] as const) {
      if (!(value >= 0)) throw new TptError('CONFIG_INVALID', `AdamW ${name}=${value} must be ≥ 0`, { hint: 'Set learning_rate to a positive number such as 0.005.' });
    }
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1)) {
      throw new TptError('CONFIG_INVALID', `AdamW betas (${this.beta1}, ${this.beta2}) must lie in [0, 1)`, { hint: 'Use the defaults (0.9, 0.999).' });
    }
    this.states = variables.map((variable) => ({ variable, expAvg: undefined, expAvgSq: undefined, step: 0 }));
  }

  /** Steps taken since construction or the last reset (torch's `state['step']`). */
  get stepCount(): number {
    return this.states[0]?.step ?? 0;
  }

  private gradientFor(state: ParameterState, grads: AdamWGradients): tf.Tensor | undefined {
    return grads instanceof Map ? grads.get(state.variable) : grads[state.variable.name];
  }

  /** One AdamW update of every variable that has a gradient (torch skips parameters whose grad is None). */
  step(grads: AdamWGradients): void {
    for (const state of this.states) {
      const grad = this.gradientFor(state, grads);
      if (grad === undefined) continue;
      if (grad.shape.join(',') !== state.variable.shape.join(',')) {
        throw new Error(`AdamW: gradient shape [${grad.shape}] does not match variable ${state.variable.name} [${state.variable.shape}]`);
      }
      this.updateParameter(state, grad);
    }
  }

  private updateParameter(state: ParameterState, grad: tf.Tensor): void {
    state.step += 1;
    const { lr, beta1, beta2, eps, weightDecay } = this;
    const biasCorrection1 = 1 - beta1 ** state.step;
    const biasCorrection2 = 1 - beta2 ** state.step;
    const stepSize = lr / biasCorrection1;
    const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);

    const previousAvg = state.expAvg;
    const previousAvgSq = state.expAvgSq;
    const [expAvg, expAvgSq] = tf.tidy(() => {
      const param = state.variable;
      const decayed = tf.mul(param, 1 - lr * weightDecay);
      // exp_avg.mul_(β1).add_(grad, alpha=1−β1); a zero initial moment gives the same float32 values.
      const avg = previousAvg ? tf.add(tf.mul(previousAvg, beta1), tf.mul(grad, 1 - beta1)) : tf.mul(grad, 1 - beta1);
      // exp_avg_sq.mul_(β2).addcmul_(grad, grad, value=1−β2)
      const gradSq = tf.mul(tf.mul(grad, 1 - beta2), grad); // torch's order: (value·t1)·t2
      const avgSq = previousAvgSq ? tf.add(tf.mul(previousAvgSq, beta2), gradSq) : gradSq;
      const denom = tf.add(tf.div(tf.sqrt(avgSq), biasCorrection2Sqrt), eps);
      // param.addcdiv_(exp_avg, denom, value=−step_size)
      param.assign(tf.add(decayed, tf.div(tf.mul(avg, -stepSize), denom))); // torch's order: (value·t1)/t2
      return [avg, avgSq];
    });
    previousAvg?.dispose();
    previousAvgSq?.dispose();
    state.expAvg = expAvg;
    state.expAvgSq = expAvgSq;
  }

  /** Back to the freshly constructed state: step 0 and no moments. Variables are not touched. */
  reset(): void {
    for (const state of this.states) {
      state.expAvg?.dispose();
      state.expAvgSq?.dispose();
      state.expAvg = undefined;
      state.expAvgSq = undefined;
      state.step = 0;
    }
  }

  dispose(): void {
    this.reset();
  }
}
