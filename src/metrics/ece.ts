/**
 * Expected calibration error (Guo et al., 2017) with equal-width confidence bins:
 *   ECE = Σ_k |B_k|/n · |acc(B_k) − conf(B_k)|,   B_k = samples whose confidence lies in (k/K, (k+1)/K].
 * Confidence is the top-1 softmax probability and accuracy whether that top-1 class is the target.
 * The accumulator keeps per-bin sums, so a running value costs O(K) per sample and can be rebuilt on resume.
 */
export const ECE_BINS = 15;

export class EceAccumulator {
  private readonly counts: number[];
  private readonly confidenceSums: number[];
  private readonly correctCounts: number[];
  private total = 0;

  constructor(readonly bins: number = ECE_BINS) {
    this.counts = new Array<number>(bins).fill(0);
    this.confidenceSums = new Array<number>(bins).fill(0);
    this.correctCounts = new Array<number>(bins).fill(0);
  }

  /** Bin k holds (k/K, (k+1)/K]; a confidence of exactly 0 (impossible for a softmax) falls in no bin. */
  binOf(confidence: number): number {
    for (let k = 0; k < this.bins; k++) {
      if (confidence > k / this.bins && confidence <= (k + 1) / this.bins) return k;
    }
    return -1;
  }

  add(confidence: number, correct: boolean): void {
    this.total += 1;
    const k = this.binOf(confidence);
    if (k < 0) return;
    this.counts[k] = (this.counts[k] as number) + 1;
    this.confidenceSums[k] = (this.confidenceSums[k] as number) + confidence;
    if (correct) this.correctCounts[k] = (this.correctCounts[k] as number) + 1;
  }

  get samples(): number {
    return this.total;
  }

  /** 0 before any sample. */
  value(): number {
    if (this.total === 0) return 0;
    let ece = 0;
    for (let k = 0; k < this.bins; k++) {
      const count = this.counts[k] as number;
      if (count === 0) continue;
      const accuracy = (this.correctCounts[k] as number) / count;
      const confidence = (this.confidenceSums[k] as number) / count;
      ece += (count / this.total) * Math.abs(accuracy - confidence);
    }
    return ece;
  }
}

export function expectedCalibrationError(confidences: number[], corrects: boolean[], bins: number = ECE_BINS): number {
  const acc = new EceAccumulator(bins);
  confidences.forEach((c, i) => acc.add(c, corrects[i] === true));
  return acc.value();
}
