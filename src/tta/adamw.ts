import { TptError } from '../errors.js';

export interface AdamWOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weight_decay?: number;
}

interface ParameterState {
  param: Float32Array;
  /** exp_avg and exp_avg_sq; undefined until the first step, as torch creates state lazily. */
  expAvg: Float32Array | undefined;
  expAvgSq: Float32Array | undefined;
  step: number;
}

const f32 = Math.fround;

/**
 * torch.optim.AdamW as PyTorch 1.13 computes it (single-tensor path, amsgrad off, maximize off), on host
 * float32 arrays (the prompt context is 4 × 512 floats; no engine is needed for it):
 *
 *     step += 1
 *     param *= 1 − lr·weight_decay                      # decoupled decay, before the moments
 *     exp_avg    = β1·exp_avg    + (1 − β1)·grad
 *     exp_avg_sq = β2·exp_avg_sq + (1 − β2)·grad²
 *     step_size  = lr / (1 − β1^step)
 *     denom      = sqrt(exp_avg_sq) / sqrt(1 − β2^step) + eps
 *     param     += −step_size · exp_avg / denom
 *
 * The scalar factors are computed in float64 as Python does and enter the float32 arithmetic rounded to
 * float32, as torch's CPU kernels round Python scalars. Every elementwise operation is one float32 operation:
 * its float64 result rounded with Math.fround (exact for +, −, ×, ÷ and sqrt of float32 operands, whose
 * float64 results round to the correctly rounded float32), in torch's order. Defaults are torch's: lr 1e-3,
 * betas (0.9, 0.999), eps 1e-8, weight_decay 0.01 (the seed passes only lr).
 *
 * `step` updates the parameter arrays in place. `reset()` returns the optimizer to the state the seed reloads
 * before every sample (`optimizer.load_state_dict(optim_state)` of a fresh optimizer: no step, no moments).
 */
export class AdamW {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly states: ParameterState[];

  constructor(params: readonly Float32Array[], options: AdamWOptions = {}) {
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
    this.states = params.map((param) => ({ param, expAvg: undefined, expAvgSq: undefined, step: 0 }));
  }

  /** Steps taken since construction or the last reset (torch's `state['step']`). */
  get stepCount(): number {
    return this.states[0]?.step ?? 0;
  }

  /**
   * One AdamW update of every parameter that has a gradient: grads[i] belongs to params[i]; an undefined
   * entry is skipped, as torch skips parameters whose grad is None.
   */
  step(grads: readonly (Float32Array | undefined)[]): void {
    if (grads.length !== this.states.length) throw new Error(`AdamW: ${grads.length} gradients for ${this.states.length} parameters`);
    this.states.forEach((state, i) => {
      const grad = grads[i];
      if (grad === undefined) return;
      if (grad.length !== state.param.length) throw new Error(`AdamW: gradient of ${grad.length} values for parameter ${i} of ${state.param.length}`);
      this.updateParameter(state, grad);
    });
  }

  private updateParameter(state: ParameterState, grad: Float32Array): void {
    state.step += 1;
    const { lr, beta1, beta2, eps, weightDecay } = this;
    // Python floats (float64), each rounded once where it meets the float32 tensor.
    const decay = f32(1 - lr * weightDecay);
    const b1 = f32(beta1);
    const oneMinusB1 = f32(1 - beta1);
    const b2 = f32(beta2);
    const oneMinusB2 = f32(1 - beta2);
    const biasCorrection2Sqrt = f32(Math.sqrt(1 - beta2 ** state.step));
    const negStepSize = f32(-(lr / (1 - beta1 ** state.step)));
    const epsilon = f32(eps);

    const { param } = state;
    const n = param.length;
    const first = state.expAvg === undefined;
    const expAvg = (state.expAvg ??= new Float32Array(n));
    const expAvgSq = (state.expAvgSq ??= new Float32Array(n));
    for (let i = 0; i < n; i++) {
      const g = grad[i]!;
      const decayed = f32(param[i]! * decay);
      // exp_avg.mul_(β1).add_(grad, alpha=1−β1); from a zero moment that is (1−β1)·grad exactly.
      const scaledGrad = f32(g * oneMinusB1);
      const avg = first ? scaledGrad : f32(f32(expAvg[i]! * b1) + scaledGrad);
      // exp_avg_sq.mul_(β2).addcmul_(grad, grad, value=1−β2), torch's order: (value·t1)·t2.
      const gradSq = f32(f32(g * oneMinusB2) * g);
      const avgSq = first ? gradSq : f32(f32(expAvgSq[i]! * b2) + gradSq);
      const denom = f32(f32(f32(Math.sqrt(avgSq)) / biasCorrection2Sqrt) + epsilon);
      // param.addcdiv_(exp_avg, denom, value=−step_size), torch's order: (value·t1)/t2.
      param[i] = f32(decayed + f32(f32(avg * negStepSize) / denom));
      expAvg[i] = avg;
      expAvgSq[i] = avgSq;
    }
  }

  /** Back to the freshly constructed state: step 0 and no moments. Parameters are not touched. */
  reset(): void {
    for (const state of this.states) {
      state.expAvg = undefined;
      state.expAvgSq = undefined;
      state.step = 0;
    }
  }
}
