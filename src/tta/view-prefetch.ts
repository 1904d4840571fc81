import { join } from 'node:path';
import { decodeImage, type RgbImage } from '../data/image.js';
import { Rng } from '../data/rng.js';
import { sampleIdentity } from '../data/sample-order.js';
import { isTptError } from '../errors.js';
import type { SampleViews } from './engine.js';

/**
 * Preparing a sample's views (read + decode + augment) overlaps with the model's work on earlier samples:
 * the preparations of the next `ahead` samples are started before they are needed (the seed's DataLoader
 * workers, `num_workers`). Decoding runs in sharp's thread pool; view making is plain JavaScript and runs
 * between model steps. Each sample's random stream comes from (seed, the sample's identity) alone, so the
 * views do not depend on when or where they are made.
 */

/** One position of the run's sample list. */
export interface PlannedSample {
  /** Position in this process's list (shards: the shard's list). */
  position: number;
  /** Position in the unsharded sample order: samples.jsonl `index` and the TensorBoard step. */
  index: number;
  /** Relative to the dataset root, forward slashes. */
  file: string;
  target: number;
}

export type PreparedSample =
  | { kind: 'views'; sample: PlannedSample; views: SampleViews; image: RgbImage | undefined }
  | { kind: 'skipped'; sample: PlannedSample; error: string };

/** What makes views from an image: the augmenter (AugmenterTPT / PatchAugmenter). */
export interface ViewMaker {
  makeViews(image: RgbImage, rng: Rng): SampleViews;
}

export interface PrepareOptions {
  datasetRoot: string;
  seed: number;
  viewMaker: ViewMaker;
  /** Keep the decoded image (TensorBoard images of improved and worsened samples). */
  keepImage: boolean;
}

/** Problems of one image that skip it (recorded in skipped.jsonl and counted) rather than stop the run. */
const SKIPPABLE_IMAGE_ERRORS = new Set(['IMAGE_DECODE', 'IMAGE_TOO_SMALL']);

/**
 * Reads, decodes and augments one sample. An undecodable file, or an image too small for the patch grid (the
 * seed would crash on it), becomes a `skipped` outcome, never an exception.
 */
export async function prepareSample(sample: PlannedSample, options: PrepareOptions): Promise<PreparedSample> {
  try {
    const image = await decodeImage(join(options.datasetRoot, sample.file));
    const views = options.viewMaker.makeViews(image, Rng.forSample(options.seed, sampleIdentity(sample)));
    return { kind: 'views', sample, views, image: options.keepImage ? image : undefined };
  } catch (e) {
    if (isTptError(e) && SKIPPABLE_IMAGE_ERRORS.has(e.code)) return { kind: 'skipped', sample, error: e.message };
    throw e;
  }
}

export class ViewPrefetcher {
  private readonly started = new Map<number, Promise<PreparedSample>>();
  private nextToStart: number;

  /**
   * `samples[k]` is prepared for `take(k)`; positions below `from` are never prepared. `ahead` is how many
   * samples beyond the one being taken are prepared in advance (0: prepare on demand).
   */
  constructor(
    private readonly samples: readonly PlannedSample[],
    private readonly prepare: (sample: PlannedSample) => Promise<PreparedSample>,
    private readonly ahead: number,
    from: number,
  ) {
    this.nextToStart = from;
  }

  /** The prepared sample at `position`; also starts the preparations of the following `ahead` samples. */
  take(position: number): Promise<PreparedSample> {
    const last = Math.min(this.samples.length - 1, position + this.ahead);
    while (this.nextToStart <= last) {
      const sample = this.samples[this.nextToStart]!;
      const pending = this.prepare(sample);
      // A failure surfaces when its position is taken; until then it must not count as unhandled.
      pending.catch(() => undefined);
      this.started.set(this.nextToStart, pending);
      this.nextToStart += 1;
    }
    const pending = this.started.get(position);
    if (pending === undefined) throw new Error(`ViewPrefetcher: position ${position} was taken twice or out of range`);
    this.started.delete(position);
    return pending;
  }

  /** Preparations started but never taken (an interrupted run): waited for so nothing runs on after the run. */
  async drain(): Promise<void> {
    const pending = [...this.started.values()];
    this.started.clear();
    await Promise.allSettled(pending);
  }
}
