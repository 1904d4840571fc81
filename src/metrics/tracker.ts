/**
 * The seed's `MetricsTracker` (notebook §3.2, cell [63]): the same tags, values and steps, so that our runs
 * overlay the seed's published TensorBoard runs. Quirks kept on purpose:
 * - accuracies are fractions in [0, 1] (the seed's progress bar prints them with a "%" sign; the values are
 *   not percentages);
 * - `confidence/*` is the max softmax probability, whatever the notebook prose calls it;
 * - `crossEntropy/Final_*` is the cumulative SUM over samples (not a mean), accumulated in float32 because
 *   the seed adds float32 tensors to it;
 * - `confidence/difference` and `crossEntropy/difference` are float32 tensor differences in the seed,
 *   `KL/Base-TPT` a float64 difference of `.item()` values: each is reproduced with that rounding;
 * - `KL/*` is F.kl_div(softmax.log(), one-hot, batchmean) = −log(softmax[target]); the seed takes the log
 *   of the softmax rather than log_softmax, so we do too: −log(exp(−ce)), from the stored cross-entropy, so
 *   that a stored sample (samples.jsonl, no logits) reproduces every event bit for bit;
 * - images of improved/worsened samples go under `Improved_Images/img_{i}:{target}-{classname}` with
 *   step = the TARGET CLASS (the seed passes `target_class` where add_image expects the step). The seed also
 *   passes `i` as the wall time, stamping its images a few seconds after 1970; we keep the real wall time
 *   instead, since the sample index is already in the tag and a 1970 time only garbles TensorBoard's
 *   relative-time axis;
 * - the per-class and global statistics texts list sample indices class by class (not in run order), and
 *   `Samples-Global/*` scalars have no step (0).
 * Added (not in the seed): running expected calibration error `ECE/Base`, `ECE/TPT_coop` at step i, and
 * `ECE/Final_Base`, `ECE/Final_TPT_coop` at step 0 in writeInfo.
 */
import { EceAccumulator } from './ece.js';
import type { EventWriter } from './event-writer.js';
import { configToHparams, type HparamsSessionEnd } from './hparams.js';
import type { RgbImage } from './png.js';
import { pythonJsonDumps } from './python-json.js';
import { predictionMetrics, type PredictionMetrics } from './sample-metrics.js';
import type { ChwFloatImage } from './summaries.js';

export interface SampleMetrics {
  base: PredictionMetrics;
  tpt: PredictionMetrics;
  /** +1: TPT fixed the top-1 prediction, −1: TPT broke it, 0: no change in correctness. */
  change: -1 | 0 | 1;
}

export interface TrackerUpdate {
  /** The seed's `i`: the sample's position in the run's order. */
  step: number;
  target: number;
  baseLogits: Float32Array;
  tptLogits: Float32Array;
  /** The TPT loss value of the (last) tuning step. */
  loss: number;
  /**
   * The original image (the seed's `view_img` = TF.to_tensor(img)), needed only when saveImgs and the
   * prediction changed. A uint8 RGB image is written as it is; a float CHW one is scaled like torch's add_image
   * (both give the same pixels: uint8 → /255 → ×255 → truncate is exact for every value).
   */
  viewImage?: RgbImage | ChwFloatImage;
}

/** What `replay` needs from an earlier sample: a samples.jsonl line with its index as `step`. */
export interface ReplayRecord {
  step: number;
  target: number;
  base: PredictionMetrics;
  tpt: PredictionMetrics;
}

/** A stored sample with what `updateFromRecord` needs to write its events. */
export interface RecordedSample extends ReplayRecord {
  loss: number;
  viewImage?: RgbImage | ChwFloatImage | undefined;
}

export interface TrackerOptions {
  /** null: compute and accumulate, write nothing. */
  writer: EventWriter | null;
  nClasses: number;
  classnames: readonly string[];
  saveImgs: boolean;
}

export interface TrackerSummary {
  top1: { base: number; tpt: number };
  top5: { base: number; tpt: number };
  improved: number;
  worsened: number;
  ece: { base: number; tpt: number };
  samples: number;
}

interface ClassStatistics {
  improved: number[];
  worsened: number[];
  nSamples: number;
}

/** The final-accuracy tags: the HParams session's metrics. */
export const FINAL_ACCURACY_TAGS = [
  'AccuracyTOP1/Final_Base',
  'AccuracyTOP1/Final_TPT_coop',
  'AccuracyTOP5/Final_Base_Top5',
  'AccuracyTOP5/Final_TPT_coop_Top5',
] as const;

const f32 = Math.fround;

function ratio(part: number, whole: number): number {
  return whole !== 0 ? part / whole : 0;
}

export class MetricsTracker {
  private readonly writer: EventWriter | null;
  private readonly nClasses: number;
  private readonly classnames: readonly string[];
  private readonly saveImgs: boolean;

  private samples = 0;
  private cumulativeChanged = 0;
  private correctsBase = 0;
  private correctsTpt = 0;
  private top5CorrectsBase = 0;
  private top5CorrectsTpt = 0;
  private cumulativeCrossEntropyBase = 0;
  private cumulativeCrossEntropyTpt = 0;
  private readonly eceBase = new EceAccumulator();
  private readonly eceTpt = new EceAccumulator();
  private readonly perClass: ClassStatistics[];

  constructor(options: TrackerOptions) {
    if (options.classnames.length !== options.nClasses) {
      throw new Error(`MetricsTracker: ${options.classnames.length} class names for ${options.nClasses} classes`);
    }
    this.writer = options.writer;
    this.nClasses = options.nClasses;
    this.classnames = options.classnames;
    this.saveImgs = options.saveImgs;
    this.perClass = Array.from({ length: options.nClasses }, () => ({ improved: [], worsened: [], nSamples: 0 }));
  }

  /** One finished sample: accumulates it and writes the seed's per-sample scalars (and image) at step i. */
  update(o: TrackerUpdate): SampleMetrics {
    this.checkTarget(o.target);
    const base = predictionMetrics(o.baseLogits, o.target);
    const tpt = predictionMetrics(o.tptLogits, o.target);
    const metrics: SampleMetrics = { base, tpt, change: changeOf(base, tpt, o.target) };
    this.updateFromRecord({ step: o.step, target: o.target, loss: o.loss, base, tpt, viewImage: o.viewImage });
    return metrics;
  }

  /**
   * `update` from a stored sample (a samples.jsonl line) instead of logits: the same state change and the
   * same events. `tpt merge` uses it to rebuild an unsharded run's events from the shards' samples.
   */
  updateFromRecord(r: RecordedSample): void {
    this.checkTarget(r.target);
    const m: SampleMetrics = { base: r.base, tpt: r.tpt, change: changeOf(r.base, r.tpt, r.target) };
    this.accumulate(r.step, r.target, m);
    const w = this.writer;
    if (w === null) return;
    const i = r.step;
    const klBase = klFromCrossEntropy(r.base.ce);
    const klTpt = klFromCrossEntropy(r.tpt.ce);
    w.addScalar('Loss/value', r.loss, i);
    w.addScalar('confidence/Base', m.base.conf, i);
    w.addScalar('confidence/TPT_coop', m.tpt.conf, i);
    w.addScalar('confidence/difference(TPT-base)', f32(f32(m.tpt.conf) - f32(m.base.conf)), i);
    w.addScalar('crossEntropy/Base', m.base.ce, i);
    w.addScalar('crossEntropy/TPT_coop', m.tpt.ce, i);
    w.addScalar('crossEntropy/difference(base-TPT)', f32(f32(m.base.ce) - f32(m.tpt.ce)), i);
    w.addScalar('KL/Base_vs_True', klBase, i);
    w.addScalar('KL/TPT_vs_True', klTpt, i);
    w.addScalar('KL/Base-TPT', f32(klBase) - f32(klTpt), i);
    const acc = this.accuracies();
    w.addScalar('AccuracyTOP1/Base', acc.top1Base, i);
    w.addScalar('AccuracyTOP1/TPT_coop', acc.top1Tpt, i);
    w.addScalar('AccuracyTOP1/difference(TPT-base)', acc.top1Tpt - acc.top1Base, i);
    w.addScalar('AccuracyTOP5/Base_Top5', acc.top5Base, i);
    w.addScalar('AccuracyTOP5/TPT_coop_Top5', acc.top5Tpt, i);
    w.addScalar('AccuracyTOP5/difference_Top5(TPT-base)', acc.top5Tpt - acc.top5Base, i);
    w.addScalar('Samples/TPTchange', m.change, i);
    w.addScalar('Samples/TPTcumulative_changed', this.cumulativeChanged, i);
    if (this.saveImgs && m.change !== 0) {
      if (r.viewImage === undefined) throw new Error('MetricsTracker: saveImgs is set but no viewImage was given');
      const group = m.change > 0 ? 'Improved_Images' : 'Worsened_Images';
      w.addImage(`${group}/img_${i}:${r.target}-${this.classnames[r.target]}`, r.viewImage, r.target);
    }
    w.addScalar('ECE/Base', this.eceBase.value(), i);
    w.addScalar('ECE/TPT_coop', this.eceTpt.value(), i);
  }

  /**
   * Rebuilds the cumulative state from earlier samples (a resumed run) without writing any event; the
   * following `update` calls then write exactly what an uninterrupted run would have written.
   */
  replay(records: Iterable<ReplayRecord>): void {
    for (const r of records) {
      this.checkTarget(r.target);
      this.accumulate(r.step, r.target, { base: r.base, tpt: r.tpt, change: changeOf(r.base, r.tpt, r.target) });
    }
  }

  /** The seed's write_info: per-class and global statistics, their texts, and the final scalars. */
  writeInfo(): void {
    const w = this.writer;
    if (w === null) return;
    for (let target = 0; target < this.nClasses; target++) {
      const stats = this.perClass[target] as ClassStatistics;
      const nImproved = stats.improved.length;
      const nWorsened = stats.worsened.length;
      w.addScalar('Samples-PerClass-info/NImproved', nImproved, target);
      w.addScalar('Samples-PerClass-info/NWorsened', nWorsened, target);
      w.addScalar('Samples-PerClass/Changed', nImproved - nWorsened, target);
      w.addScalar('Samples-PerClass-info/Nsamples', stats.nSamples, target);
      w.addScalar('Samples-PerClass-info/ImprovedRatio', ratio(nImproved, stats.nSamples), target);
      w.addScalar('Samples-PerClass-info/WorsenedRatio', ratio(nWorsened, stats.nSamples), target);
    }
    const global = this.globalStatistics();
    w.addScalar('Samples-Global/NImproved', global.ntpt_improved);
    w.addScalar('Samples-Global/NWorsened', global.ntpt_worsened);
    w.addScalar('Samples-Global/ImprovedRatio', ratio(global.ntpt_improved, global.n_samples));
    w.addScalar('Samples-Global/WorsenedRatio', ratio(global.ntpt_worsened, global.n_samples));
    w.addText('statistics/perclass', this.perClassStatisticsJson());
    w.addText('statistics/global', this.globalStatisticsJson());
    const acc = this.accuracies();
    w.addScalar('AccuracyTOP1/Final_Base', acc.top1Base, 0);
    w.addScalar('AccuracyTOP1/Final_TPT_coop', acc.top1Tpt, 0);
    w.addScalar('AccuracyTOP5/Final_Base_Top5', acc.top5Base, 0);
    w.addScalar('AccuracyTOP5/Final_TPT_coop_Top5', acc.top5Tpt, 0);
    w.addScalar('crossEntropy/Final_Base', this.cumulativeCrossEntropyBase, 0);
    w.addScalar('crossEntropy/Final_TPT_coop', this.cumulativeCrossEntropyTpt, 0);
    w.addScalar('ECE/Final_Base', this.eceBase.value(), 0);
    w.addScalar('ECE/Final_TPT_coop', this.eceTpt.value(), 0);
  }

  /**
   * Opens this run's HParams session: the config as hparams, the final accuracies as metrics. A resumed run
   * calls it again in its new event file (same values, so the dashboard shows one session).
   */
  startHparamsSession(config: Record<string, unknown>, startTimeSecs?: number): void {
    const hparams = configToHparams(config);
    const metricTags = [...FINAL_ACCURACY_TAGS];
    this.writer?.addHparams(startTimeSecs === undefined ? { hparams, metricTags } : { hparams, metricTags, startTimeSecs });
  }

  /** Closes the HParams session, after writeInfo (status SUCCESS by default). */
  endHparamsSession(end: HparamsSessionEnd = {}): void {
    this.writer?.addHparamsEnd(end);
  }

  /** `json.dumps(self.sample_statistics, indent=4)` after write_info added the counts. */
  perClassStatisticsJson(): string {
    return pythonJsonDumps(
      this.perClass.map((stats, target) => ({
        target,
        tpt_improved_samples: stats.improved,
        tpt_worsened_samples: stats.worsened,
        n_samples: stats.nSamples,
        ntpt_improved: stats.improved.length,
        ntpt_worsened: stats.worsened.length,
      })),
      4,
    );
  }

  /** `json.dumps(global_stat, indent=4)`. */
  globalStatisticsJson(): string {
    return pythonJsonDumps(this.globalStatistics(), 4);
  }

  summary(): TrackerSummary {
    const acc = this.accuracies();
    let improved = 0;
    let worsened = 0;
    for (const stats of this.perClass) {
      improved += stats.improved.length;
      worsened += stats.worsened.length;
    }
    return {
      top1: { base: acc.top1Base, tpt: acc.top1Tpt },
      top5: { base: acc.top5Base, tpt: acc.top5Tpt },
      improved,
      worsened,
      ece: { base: this.eceBase.value(), tpt: this.eceTpt.value() },
      samples: this.samples,
    };
  }

  /** The seed's get_accuracy_* (0 before any sample). */
  accuracies(): { top1Base: number; top1Tpt: number; top5Base: number; top5Tpt: number } {
    const n = this.samples;
    return {
      top1Base: n > 0 ? this.correctsBase / n : 0,
      top1Tpt: n > 0 ? this.correctsTpt / n : 0,
      top5Base: n > 0 ? this.top5CorrectsBase / n : 0,
      top5Tpt: n > 0 ? this.top5CorrectsTpt / n : 0,
    };
  }

  private accumulate(step: number, target: number, m: SampleMetrics): void {
    // float32 sums, as the seed's `0.0 + tensor` accumulation is a float32 tensor.
    this.cumulativeCrossEntropyBase = f32(this.cumulativeCrossEntropyBase + f32(m.base.ce));
    this.cumulativeCrossEntropyTpt = f32(this.cumulativeCrossEntropyTpt + f32(m.tpt.ce));
    const baseCorrect = m.base.pred === target;
    const tptCorrect = m.tpt.pred === target;
    if (baseCorrect) this.correctsBase += 1;
    if (tptCorrect) this.correctsTpt += 1;
    if (m.base.top5.includes(target)) this.top5CorrectsBase += 1;
    if (m.tpt.top5.includes(target)) this.top5CorrectsTpt += 1;
    this.samples += 1;
    this.cumulativeChanged += m.change;
    const stats = this.perClass[target] as ClassStatistics;
    if (m.change > 0) stats.improved.push(step);
    else if (m.change < 0) stats.worsened.push(step);
    stats.nSamples += 1;
    this.eceBase.add(m.base.conf, baseCorrect);
    this.eceTpt.add(m.tpt.conf, tptCorrect);
  }

  private globalStatistics(): {
    tpt_improved_samples: number[];
    tpt_worsened_samples: number[];
    n_samples: number;
    ntpt_improved: number;
    ntpt_worsened: number;
  } {
    const improved = this.perClass.flatMap((s) => s.improved);
    const worsened = this.perClass.flatMap((s) => s.worsened);
    return {
      tpt_improved_samples: improved,
      tpt_worsened_samples: worsened,
      n_samples: this.perClass.reduce((sum, s) => sum + s.nSamples, 0),
      ntpt_improved: improved.length,
      ntpt_worsened: worsened.length,
    };
  }

  private checkTarget(target: number): void {
    if (!(Number.isInteger(target) && target >= 0 && target < this.nClasses)) {
      throw new Error(`MetricsTracker: target ${target} is not a class index below ${this.nClasses}`);
    }
  }
}

/** −log(softmax[target]) as the seed computes it: the log of the probability, not the log-softmax. */
export function klFromCrossEntropy(ce: number): number {
  return -Math.log(Math.exp(-ce));
}

function changeOf(base: PredictionMetrics, tpt: PredictionMetrics, target: number): -1 | 0 | 1 {
  return ((tpt.pred === target ? 1 : 0) - (base.pred === target ? 1 : 0)) as -1 | 0 | 1;
}
