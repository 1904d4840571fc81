import type { PredictionMetrics } from '../metrics/sample-metrics.js';

/**
 * The per-sample records of a run folder. `samples.jsonl` holds one `SampleRecord` per finished sample and
 * `skipped.jsonl` one `SkippedRecord` per file that could not be decoded; both are written in the order of
 * the run's sample list, so a folder always holds a prefix of that list (see `OrderedRecordWriter`).
 */

/** One prediction as the metrics tracker scores it: pred, top5, conf (max softmax probability), ce. */
export type PredictionRecord = PredictionMetrics;

export interface SampleRecord {
  /** Position in the run's (unsharded) sample order: the TensorBoard step, the seed's `i`. */
  index: number;
  /**
   * Image path relative to the folder the dataset lists its samples from (dataset_path, else imagenet_a_path;
   * for a split-file set its image folder, so this is the split entry's path), with forward slashes.
   */
  file: string;
  /** Label: index in the dataset's class list. */
  target: number;
  /** Zero-shot prediction of view 0 with the initial (CoOp) prompt. */
  base: PredictionRecord;
  /** Prediction of view 0 after test-time tuning. */
  tpt: PredictionRecord;
  /** The loss of the last tuning step (the seed's `loss.item()`); 0 with tta_steps 0. */
  loss: number;
  /** 1 when TPT fixed the prediction, −1 when it broke it, else 0 (the seed's Samples/TPTchange). */
  change: number;
  /** With save_logits: all class logits of view 0 before and after tuning. */
  base_logits?: number[];
  tpt_logits?: number[];
}

export interface SkippedRecord {
  index: number;
  file: string;
  /** Why the file was skipped (the decoder's message). */
  error: string;
}
