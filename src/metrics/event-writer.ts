/**
 * `EventWriter`: torch's SummaryWriter, for one run folder, writing standard TensorBoard event files.
 *
 * Crash safety: each event is framed into its whole TFRecord in memory; records wait in a small queue and go
 * to disk together in ONE `fs.writeSync` call on a file opened for append (looping only if the kernel reports
 * a short write). A process killed between calls therefore leaves only whole records, and a kill during the
 * call can at worst leave one incomplete final record, which `readEventFile` reports and skips (TensorBoard
 * does the same). The queue is flushed when it holds `maxQueue` records, when `flushSecs` have passed since
 * the last flush (checked on every add and by an unref'd timer), on `flush()` and on `close()` (which also
 * fsyncs). Callers that keep other per-step records (samples.jsonl) call `flush()` at the same points.
 *
 * A write that fails part way (a full disk, a quota) is truncated back to the last whole record before the
 * error is passed on, so the file holds whole records only; `repairEventFile` cuts the torn tail a killed
 * writer may leave, for the run that resumes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TptError } from '../errors.js';
import { RecordAppender } from '../io/record-appender.js';
import { encodeEvent, type EventObject, type SummaryValueObject } from './event-schema.js';
import { hparamsEndValue, hparamsStartValues, type HparamsSessionEnd, type HparamsSessionStart } from './hparams.js';
import type { RgbImage } from './png.js';
import { imageValue, scalarValue, textValue, type ChwFloatImage } from './summaries.js';
import { frameRecord, parseRecords } from './tfevents.js';

export const FILE_VERSION = 'brain.Event:2';

export interface EventWriterOptions {
  /** Appended to the file name, as torch's `filename_suffix`. */
  filenameSuffix?: string;
  /** Records queued before a write (torch: max_queue=10). */
  maxQueue?: number;
  /** Longest time a record waits in the queue; default 5 (torch: flush_secs=120; shorter here so a killed run loses less). */
  flushSecs?: number;
  /** Wall clock in seconds; tests pin it. */
  clock?: () => number;
}

/** torch (tensorboard's EventFileWriter) numbers the writers of a process: the name's last part. */
let writersCreated = 0;

function defaultClock(): number {
  return Date.now() / 1000;
}

export class EventWriter {
  readonly logDir: string;
  /** Full path of the event file. */
  readonly path: string;
  private readonly file: RecordAppender;
  private queue: Buffer[] = [];
  private lastFlush: number;
  private readonly maxQueue: number;
  private readonly flushMs: number;
  private readonly clock: () => number;
  private readonly timer: NodeJS.Timeout;
  /** A failed background flush, rethrown to the next caller instead of crashing the process from a timer. */
  private backgroundError: unknown = null;

  private constructor(logDir: string, file: RecordAppender, options: EventWriterOptions) {
    this.logDir = logDir;
    this.path = file.path;
    this.file = file;
    this.maxQueue = Math.max(1, options.maxQueue ?? 10);
    this.flushMs = Math.max(0, options.flushSecs ?? 5) * 1000;
    this.clock = options.clock ?? defaultClock;
    this.lastFlush = Date.now();
    this.timer = setInterval(() => {
      try {
        this.flushIfDue();
      } catch (error) {
        this.backgroundError ??= error;
      }
      // setInterval takes at most 2^31−1 ms (longer delays silently become 1 ms).
    }, Math.min(Math.max(this.flushMs, 100), 2 ** 31 - 1));
    this.timer.unref();
  }

  /**
   * Creates `logDir` if needed and a new `events.out.tfevents.<unix secs, 10 digits>.<host>.<pid>.<n><suffix>`
   * in it (torch's naming), whose first record is the file-version event.
   */
  static create(logDir: string, options: EventWriterOptions = {}): EventWriter {
    const clock = options.clock ?? defaultClock;
    const now = clock();
    const name =
      `events.out.tfevents.${String(Math.floor(now)).padStart(10, '0')}.${os.hostname()}.${process.pid}` +
      `.${writersCreated++}${options.filenameSuffix ?? ''}`;
    const filePath = path.join(logDir, name);
    let file: RecordAppender;
    try {
      fs.mkdirSync(logDir, { recursive: true });
      file = new RecordAppender(filePath);
    } catch (cause) {
      throw new TptError('EVENTS_OPEN', `Cannot create the event file ${filePath}: ${(cause as Error).message}`, {
        hint: 'Check that the run folder (out_dir) is writable.',
        cause,
      });
    }
    const writer = new EventWriter(logDir, file, options);
    writer.addEvent({ wallTime: now, fileVersion: FILE_VERSION });
    writer.flush();
    return writer;
  }

  /** Queues one event; `step` 0 or undefined is left off the wire (proto3 default), as torch's files do. */
  addEvent(event: EventObject): void {
    const { step, ...rest } = event;
    this.addEventBytes(encodeEvent(step === undefined || step === 0 ? rest : { ...rest, step: Math.trunc(step) }));
  }

  /** An already serialized Event (e.g. copied from another run's file by `tpt merge`), written verbatim. */
  addEventBytes(data: Uint8Array): void {
    if (this.file.closed) throw new Error(`EventWriter for ${this.path} is closed`);
    if (this.backgroundError !== null) this.flush();
    this.queue.push(frameRecord(data));
    if (this.queue.length >= this.maxQueue) this.flush();
    else this.flushIfDue();
  }

  /** One event holding `values` (torch writes one value per event; so do the add* methods). */
  addSummary(values: SummaryValueObject[], step?: number, wallTime?: number): void {
    this.addEvent({ wallTime: wallTime ?? this.clock(), step, summary: { value: values } });
  }

  /** Written as float32 `simple_value`, as TensorBoard stores scalars. */
  addScalar(tag: string, value: number, step?: number, wallTime?: number): void {
    this.addSummary([scalarValue(tag, value)], step, wallTime);
  }

  /** Shown under `<tag>/text_summary`, as torch's add_text names it. */
  addText(tag: string, text: string, step?: number, wallTime?: number): void {
    this.addSummary([textValue(tag, text)], step, wallTime);
  }

  /** An RGB uint8 image, or a float CHW image in [0, 1] (scaled by 255 and clipped, as torch does). */
  addImage(tag: string, image: RgbImage | ChwFloatImage, step?: number, wallTime?: number): void {
    this.addSummary([imageValue(tag, image)], step, wallTime);
  }

  /** Starts this run's HParams session: the experiment, then the session start, one event each. */
  addHparams(start: HparamsSessionStart, wallTime?: number): void {
    for (const value of hparamsStartValues(start)) this.addSummary([value], undefined, wallTime);
  }

  /** Ends the HParams session (status SUCCESS unless told otherwise). */
  addHparamsEnd(end: HparamsSessionEnd = {}, wallTime?: number): void {
    this.addSummary([hparamsEndValue(end)], undefined, wallTime);
  }

  /** Writes every queued record with a single write call. */
  flush(): void {
    if (this.backgroundError !== null) {
      const error = this.backgroundError;
      this.backgroundError = null;
      throw error;
    }
    if (this.file.closed || this.queue.length === 0) return;
    const bytes = this.queue.length === 1 ? (this.queue[0] as Buffer) : Buffer.concat(this.queue);
    this.queue = [];
    this.file.append(bytes);
    this.lastFlush = Date.now();
  }

  /**
   * Flushes, then returns the file's length: the point `rollback` returns to. A caller that writes a step's
   * records here and another record elsewhere (samples.jsonl) rolls the step back when that other write
   * fails, so a resumed run writes the step once, not twice.
   */
  mark(): number {
    this.flush();
    return this.file.length;
  }

  /** Drops everything written or queued since `mark` (best effort: a failure leaves the records in place). */
  rollback(mark: number): void {
    this.queue = [];
    try {
      this.file.truncate(mark);
    } catch {
      // the records stay: whole, and only repeated by the resumed run
    }
  }

  close(): void {
    if (this.file.closed) return;
    try {
      this.flush();
      this.file.sync();
    } finally {
      // Closed even when the last flush fails (a full disk): the error goes on, the descriptor does not leak.
      clearInterval(this.timer);
      this.file.close();
    }
  }

  get closed(): boolean {
    return this.file.closed;
  }

  private flushIfDue(): void {
    if (this.queue.length > 0 && Date.now() - this.lastFlush >= this.flushMs) this.flush();
  }
}

/**
 * Cuts an incomplete final record off an event file (a writer killed mid-write); returns the bytes cut.
 * A record with a bad CRC is not a torn tail but damage, and throws (EVENTS_CORRUPT).
 */
export function repairEventFile(filePath: string): number {
  const bytes = fs.readFileSync(filePath);
  const { truncated } = parseRecords(bytes, filePath);
  if (truncated === null) return 0;
  fs.truncateSync(filePath, truncated.offset);
  return bytes.length - truncated.offset;
}
