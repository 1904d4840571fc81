import { join } from 'node:path';
import type { EngineRecord } from '../engine/towers.js';
import type { TptConfig } from '../config/schema.js';
import type { RgbImage } from '../data/image.js';
import { EventWriter } from '../metrics/event-writer.js';
import { MetricsTracker, type TrackerSummary } from '../metrics/tracker.js';
import { datasetClassnames } from '../data/datasets/registry.js';
import { writeJsonAtomic } from '../run/atomic-write.js';
import { JsonLinesAppender, readJsonLines } from '../run/jsonl.js';
import type { RunLogger } from '../run/logger.js';
import { OrderedRecordWriter } from '../run/ordered-writer.js';
import type { SampleRecord } from '../run/records.js';
import type { RunReporter } from '../run/reporter.js';
import { RUN_FILES, type RunFolder } from '../run/run-folder.js';
import type { RanRecord } from '../run/run-record.js';
import { buildRunSummary, totalsOfRecords, type OnlineSummary, type RunSummary } from '../run/summary.js';
import type { SampleViews, TuningOutcome } from './engine.js';
import type { PlannedSample, ViewPrefetcher } from './view-prefetch.js';

/**
 * One process's pass over the rest of a run's sample list, and everything it writes. Results may finish out
 * of order (parallel processors); a reorder buffer hands them on strictly by position, and per position
 * this writes, in order: the tracker's TensorBoard scalars (flushed to disk), then ONE appended line in
 * samples.jsonl or skipped.jsonl. The folder therefore always holds a prefix of the list, and a resumed run
 * writes exactly the lines and steps an uninterrupted run would have written.
 */

/** Runs the per-sample engine; implementations may run several samples at once (worker threads). */
export interface SampleProcessor {
  /** Samples that may be in flight together. */
  readonly concurrency: number;
  process(views: SampleViews, sample: PlannedSample): Promise<TuningOutcome>;
  /** Online methods: replays the state updates of the samples an earlier process finished (state.jsonl). */
  restore?(updates: readonly unknown[]): void;
  close(): Promise<void>;
}

type Finished =
  | { kind: 'sample'; sample: PlannedSample; outcome: TuningOutcome; image: RgbImage | undefined }
  | { kind: 'skipped'; sample: PlannedSample; error: string };

export interface SessionInputs {
  config: TptConfig;
  folder: RunFolder;
  plan: readonly PlannedSample[];
  /** Positions an earlier process finished. */
  start: number;
  backend: string;
  engine?: EngineRecord;
  /** What runs (method, architecture of the weights, context source), recorded in summary.json. */
  ran?: RanRecord;
  processor: SampleProcessor;
  prefetcher: ViewPrefetcher;
  log: RunLogger;
  reporter: RunReporter;
  signal: AbortSignal | undefined;
  /** Called once a sample's line is whole in samples.jsonl (the count a failure message reports). */
  onSampleSaved?: () => void;
  stopAfter: number | undefined;
  summaryEverySeconds: number;
  /** Online methods: what summary.json says about the stream (its results depend on the order). */
  online?: OnlineSummary;
}

export class RunSession {
  readonly tracker: MetricsTracker;
  readonly events: EventWriter;
  private readonly samplesOut: JsonLinesAppender;
  private readonly skippedOut: JsonLinesAppender;
  /** Online methods only: state.jsonl. */
  private readonly stateOut: JsonLinesAppender | undefined;
  private readonly ordered: OrderedRecordWriter<Finished>;
  private skippedCount: number;
  private doneThisSession = 0;
  private readonly sessionStart = performance.now();
  private lastSummaryWrite = 0;
  /** Set when a sample line failed after the tracker had counted it (a full disk). */
  private trackerAhead = false;
  private readonly previousElapsed: number;

  constructor(private readonly inputs: SessionInputs) {
    const { config, folder } = inputs;
    // A new event file per process: earlier files stay as they are, TensorBoard reads them all as one run.
    this.events = EventWriter.create(folder.dir);
    const classnames = datasetClassnames(config.dataset);
    this.tracker = new MetricsTracker({
      writer: this.events,
      nClasses: classnames.length,
      classnames,
      saveImgs: config.save_imgs,
    });
    this.tracker.replay(folder.samples.map((r) => ({ step: r.index, target: r.target, base: r.base, tpt: r.tpt })));
    this.samplesOut = new JsonLinesAppender(join(folder.dir, RUN_FILES.samples));
    this.skippedOut = new JsonLinesAppender(join(folder.dir, RUN_FILES.skipped));
    this.stateOut = inputs.online ? new JsonLinesAppender(join(folder.dir, RUN_FILES.state)) : undefined;
    this.skippedCount = folder.skipped.length;
    this.previousElapsed = folder.previousSummary?.elapsed_seconds ?? 0;
    this.ordered = new OrderedRecordWriter<Finished>(inputs.start, (finished) => this.emit(finished));
  }

  summary(finished: boolean, interruptedBy?: string): RunSummary {
    // After a failed line the tracker has counted a sample the folder lacks: summarize what is saved instead.
    const totals = this.trackerAhead ? this.savedTotals() : this.tracker.summary();
    return buildRunSummary(totals, {
      ...(interruptedBy !== undefined ? { interruptedBy } : {}),
      runName: this.inputs.folder.name,
      finished,
      samplesTotal: this.inputs.plan.length,
      filesSkipped: this.skippedCount,
      elapsedSeconds: this.previousElapsed + (performance.now() - this.sessionStart) / 1000,
      timedSamples: totals.samples + this.skippedCount,
      backend: this.inputs.backend,
      ...(this.inputs.engine ? { engine: this.inputs.engine } : {}),
      ...(this.inputs.ran ? { ran: this.inputs.ran } : {}),
      workers: this.inputs.processor.concurrency,
      ...(this.inputs.online ? { online: this.inputs.online } : {}),
    });
  }

  private savedTotals(): TrackerSummary {
    return totalsOfRecords(readJsonLines<SampleRecord>(join(this.inputs.folder.dir, RUN_FILES.samples)).records, datasetClassnames(this.inputs.config.dataset));
  }

  writeSummary(finished: boolean, interruptedBy?: string): RunSummary {
    const summary = this.summary(finished, interruptedBy);
    writeJsonAtomic(join(this.inputs.folder.dir, RUN_FILES.summary), summary);
    this.lastSummaryWrite = performance.now();
    return summary;
  }

  private stopRequested(inFlight: number): boolean {
    const { signal, stopAfter } = this.inputs;
    return signal?.aborted === true || (stopAfter !== undefined && this.doneThisSession + this.ordered.waiting + inFlight >= stopAfter);
  }

  /** Processes positions until the list ends or a stop is requested; returns whether the list is complete. */
  async run(): Promise<boolean> {
    const { plan, processor, prefetcher, start } = this.inputs;
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    try {
      for (let position = start; position < plan.length && failure === undefined && !this.stopRequested(inFlight.size); position++) {
        // Let the event loop turn between samples: the model's work is synchronous, and without this a Ctrl-C
        // and the finished decodes of the samples prepared ahead would wait for the end of the run.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.stopRequested(inFlight.size)) break;
        const prepared = await prefetcher.take(position);
        if (prepared.kind === 'skipped') {
          this.ordered.push(position, { kind: 'skipped', sample: prepared.sample, error: prepared.error });
          continue;
        }
        // A task never rejects: its failure is kept and ends the loop, so nothing is left unhandled.
        const task = processor
          .process(prepared.views, prepared.sample)
          .then((outcome) => this.ordered.push(position, { kind: 'sample', sample: prepared.sample, outcome, image: prepared.image }))
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
        if (inFlight.size >= processor.concurrency) await Promise.race(inFlight);
      }
    } catch (error) {
      failure ??= { error };
    } finally {
      // Samples in flight finish (and are written) before the session closes its files.
      await Promise.all(inFlight);
      await prefetcher.drain();
    }
    if (failure !== undefined) throw failure.error;
    return this.ordered.emittedUpTo === plan.length;
  }

  /**
   * Ends the session: final TensorBoard summaries when the list is complete, then closes every file and
   * writes summary.json (with `interruptedBy`, the signal that stopped it). Every file is closed even when
   * one fails (a full disk); the first failure is passed on.
   */
  close(complete: boolean, interruptedBy?: string): RunSummary {
    let failure: { error: unknown } | undefined;
    const attempt = (step: () => void) => {
      try {
        step();
      } catch (error) {
        failure ??= { error };
      }
    };
    if (complete) {
      attempt(() => {
        this.tracker.writeInfo();
        this.tracker.endHparamsSession({ status: 'success' });
      });
    }
    this.closeFiles(attempt);
    let summary: RunSummary | undefined;
    attempt(() => {
      summary = this.writeSummary(complete, interruptedBy);
    });
    if (failure !== undefined) throw failure.error;
    return summary!;
  }

  /** Closes the files and writes nothing more (the folder's lock was lost to another process). */
  abandon(): void {
    this.closeFiles((step) => {
      try {
        step();
      } catch {
        // nothing more is written here
      }
    });
  }

  private closeFiles(attempt: (step: () => void) => void): void {
    attempt(() => this.events.close());
    attempt(() => this.samplesOut.close());
    attempt(() => this.skippedOut.close());
    if (this.stateOut) attempt(() => this.stateOut!.close());
  }

  private emit(finished: Finished): void {
    const { config, log, reporter } = this.inputs;
    const { sample } = finished;
    if (finished.kind === 'sample') {
      const { outcome } = finished;
      const eventsMark = this.events.mark();
      const metrics = this.tracker.update({
        step: sample.index,
        target: sample.target,
        baseLogits: outcome.baseLogits,
        tptLogits: outcome.tptLogits,
        loss: outcome.loss,
        ...(finished.image ? { viewImage: finished.image } : {}),
      });
      const record: SampleRecord = {
        index: sample.index,
        file: sample.file,
        target: sample.target,
        base: metrics.base,
        tpt: metrics.tpt,
        loss: outcome.loss,
        change: metrics.change,
        ...(config.save_logits ? { base_logits: Array.from(outcome.baseLogits), tpt_logits: Array.from(outcome.tptLogits) } : {}),
      };
      // An online sample's state line goes first: a kill between it and the sample's line leaves one extra
      // state line, which resuming cuts off (run/online-state.ts); the other way round the state would be lost.
      if (this.stateOut) this.stateOut.append({ index: sample.index, update: outcome.stateUpdate });
      try {
        this.events.flush(); // the step's scalars reach the disk before its line: a resumed run never lacks them
        this.samplesOut.append(record);
      } catch (error) {
        // No line, so the step is not done: its scalars go too, or the resumed run would write them twice.
        this.events.rollback(eventsMark);
        this.trackerAhead = true;
        throw error;
      }
      this.inputs.onSampleSaved?.();
      log.logger.info(
        { index: record.index, file: record.file, target: record.target, base: record.base.pred, tpt: record.tpt.pred, loss: record.loss, change: record.change },
        'sample',
      );
    } else {
      const record = { index: sample.index, file: sample.file, error: finished.error };
      this.skippedOut.append(record);
      this.skippedCount += 1;
      log.logger.warn(record, 'skipped an undecodable image');
      reporter.skipped(record.file, record.error);
    }
    this.doneThisSession += 1;
    const accuracies = this.tracker.accuracies();
    reporter.progress({
      done: this.inputs.start + this.doneThisSession,
      total: this.inputs.plan.length,
      doneThisSession: this.doneThisSession,
      sessionSeconds: (performance.now() - this.sessionStart) / 1000,
      top1Base: accuracies.top1Base,
      top1Tpt: accuracies.top1Tpt,
      skipped: this.skippedCount,
    });
    if (performance.now() - this.lastSummaryWrite >= this.inputs.summaryEverySeconds * 1000) this.writeSummary(false);
  }

  get positionsDoneThisSession(): number {
    return this.doneThisSession;
  }
}
