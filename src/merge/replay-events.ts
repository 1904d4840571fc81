/**
 * TensorBoard events of a merged run, regenerated from its stored per-sample records.
 *
 * `MetricsTracker.update` needs both logits, which samples.jsonl holds only with `save_logits`; its `replay`
 * rebuilds the cumulative state but writes nothing. `writeSampleStepFromRecord` bridges the two: it feeds
 * the record to the tracker with `replay` and then writes the step's scalars exactly as `update` does, from
 * the values `update` stored in the record (pred, top5, conf, ce). Nothing is lost on the way:
 * - conf and ce are float64 in the record and JSON round-trips doubles exactly;
 * - the tracker's KL is −log(exp(−ce)) of that same ce (see `predictionDetails`), so it is recomputed bit for bit;
 * - the running accuracies, ECE and cumulative change come from the tracker after the replay, as after an update.
 * Keep the tag list in step with `MetricsTracker.update`; the merge test compares a merged run's events with
 * an unsharded run's, tag by tag and value by value.
 */
import type { EventWriter } from '../metrics/event-writer.js';
import type { MetricsTracker } from '../metrics/tracker.js';
import type { SampleRecord } from '../run/records.js';

const f32 = Math.fround;

/** The tracker's KL against the one-hot target: −log(softmax[target]) = −log(exp(−ce)). */
function klFromCrossEntropy(ce: number): number {
  return -Math.log(Math.exp(-ce));
}

/** The running sum of `change` over the samples written so far (the seed's Samples/TPTcumulative_changed). */
export class CumulativeChange {
  value = 0;
}

/** Replays one finished sample into `tracker` and writes the per-step scalars `update` would have written. */
export function writeSampleStepFromRecord(writer: EventWriter, tracker: MetricsTracker, record: SampleRecord, cumulative: CumulativeChange): void {
  tracker.replay([{ step: record.index, target: record.target, base: record.base, tpt: record.tpt }]);
  const { base, tpt } = record;
  const change = (tpt.pred === record.target ? 1 : 0) - (base.pred === record.target ? 1 : 0);
  cumulative.value += change;
  const baseKl = klFromCrossEntropy(base.ce);
  const tptKl = klFromCrossEntropy(tpt.ce);
  const i = record.index;
  writer.addScalar('Loss/value', record.loss, i);
  writer.addScalar('confidence/Base', base.conf, i);
  writer.addScalar('confidence/TPT_coop', tpt.conf, i);
  writer.addScalar('confidence/difference(TPT-base)', f32(f32(tpt.conf) - f32(base.conf)), i);
  writer.addScalar('crossEntropy/Base', base.ce, i);
  writer.addScalar('crossEntropy/TPT_coop', tpt.ce, i);
  writer.addScalar('crossEntropy/difference(base-TPT)', f32(f32(base.ce) - f32(tpt.ce)), i);
  writer.addScalar('KL/Base_vs_True', baseKl, i);
  writer.addScalar('KL/TPT_vs_True', tptKl, i);
  writer.addScalar('KL/Base-TPT', f32(baseKl) - f32(tptKl), i);
  const acc = tracker.accuracies();
  writer.addScalar('AccuracyTOP1/Base', acc.top1Base, i);
  writer.addScalar('AccuracyTOP1/TPT_coop', acc.top1Tpt, i);
  writer.addScalar('AccuracyTOP1/difference(TPT-base)', acc.top1Tpt - acc.top1Base, i);
  writer.addScalar('AccuracyTOP5/Base_Top5', acc.top5Base, i);
  writer.addScalar('AccuracyTOP5/TPT_coop_Top5', acc.top5Tpt, i);
  writer.addScalar('AccuracyTOP5/difference_Top5(TPT-base)', acc.top5Tpt - acc.top5Base, i);
  writer.addScalar('Samples/TPTchange', change, i);
  writer.addScalar('Samples/TPTcumulative_changed', cumulative.value, i);
  const ece = tracker.summary().ece;
  writer.addScalar('ECE/Base', ece.base, i);
  writer.addScalar('ECE/TPT_coop', ece.tpt, i);
}
