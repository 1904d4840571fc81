import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../backend.js';
import { isErrorCode, TptError } from '../errors.js';
import type { SampleViews, TuningOutcome } from '../tta/engine.js';
import type { SampleProcessor } from '../tta/run-session.js';
import type { TuneRequest, WorkerMemory, WorkerModelSource, WorkerReply, WorkerStartData } from './protocol.js';

/**
 * A fixed set of worker threads, each with its own backend and model, that tune samples in parallel. It is
 * a `SampleProcessor`: the run session hands it one sample's views at a time (at most `concurrency` in
 * flight) and writes the results in sample order, whatever order they finish in.
 */

/** The compiled worker entry: dist/workers/tuning-worker.js, found from here whether this runs from src/ (tests) or dist/. */
export function workerEntryPath(): string {
  const here = dirname(fileURLToPath(import.meta.url)); // <root>/src/workers or <root>/dist/workers
  return join(here, '..', '..', 'dist', 'workers', 'tuning-worker.js');
}

export interface WorkerStats {
  threadId: number;
  setupSeconds: number;
  samples: number;
  memory: WorkerMemory;
}

interface Pending {
  resolve: (outcome: TuningOutcome) => void;
  reject: (error: unknown) => void;
}

class TuningWorker {
  readonly worker: Worker;
  readonly stats: WorkerStats;
  private pending: Pending | undefined;
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  constructor(entry: string, data: WorkerStartData, onIdle: () => void) {
    this.worker = new Worker(entry, { workerData: data });
    this.stats = { threadId: this.worker.threadId, setupSeconds: 0, samples: 0, memory: { wasmHeapBytes: 0, jsHeapBytes: 0, processRssBytes: 0 } };
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') {
          this.stats.setupSeconds = reply.setupSeconds;
          this.stats.memory = reply.memory;
          resolve();
        } else if (reply.type === 'tuned') {
          const { memory, type: _type, id: _id, ...outcome } = reply;
          this.stats.samples += 1;
          this.stats.memory = memory;
          this.settle((p) => p.resolve(outcome));
          onIdle();
        } else {
          const error = isErrorCode(reply.code) ? new TptError(reply.code, reply.message, reply.hint !== undefined ? { hint: reply.hint } : {}) : new Error(reply.message);
          if (reply.stack !== undefined && !(error instanceof TptError)) error.stack = `${reply.message}\n(in worker thread ${this.worker.threadId})\n${reply.stack}`;
          if (reply.id === null) reject(error);
          else this.settle((p) => p.reject(error));
          onIdle();
        }
      });
      const died = (error: Error) => {
        this.failure = error;
        reject(error);
        this.settle((p) => p.reject(error));
      };
      this.worker.on('error', died);
      this.worker.on('exit', (code) => died(new Error(`tuning worker ${this.stats.threadId} exited (code ${code})`)));
    });
    this.ready.catch(() => undefined); // observed by the pool's start()
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  private settle(action: (p: Pending) => void): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) action(p);
  }

  tune(id: number, views: SampleViews): Promise<TuningOutcome> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<TuningOutcome>((resolve, reject) => {
      this.pending = { resolve, reject };
      // The views are handed over, not copied; the caller must not read them afterwards.
      const request: TuneRequest = { type: 'tune', id, data: views.data, count: views.count, size: views.size };
      this.worker.postMessage(request, [views.data.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

export class TuningPool implements SampleProcessor {
  private readonly workers: TuningWorker[];
  private readonly queue: { views: SampleViews; resolve: (o: TuningOutcome) => void; reject: (e: unknown) => void }[] = [];
  private nextId = 0;

  private constructor(entry: string, count: number, data: WorkerStartData) {
    this.workers = Array.from({ length: count }, () => new TuningWorker(entry, data, () => this.dispatch()));
  }

  /** Starts `count` workers and waits until every one has built its model. */
  static async start(source: WorkerModelSource, options: { workers: number; backend: BackendChoice }): Promise<TuningPool> {
    const entry = workerEntryPath();
    if (!existsSync(entry)) {
      throw new TptError('WORKERS_NOT_BUILT', `parallel samples need the compiled worker ${entry}, which is missing`, {
        hint: 'Run `npm run build` first, or set workers to 1 (--set workers=1).',
      });
    }
    const pool = new TuningPool(entry, options.workers, { source, backend: options.backend });
    try {
      await Promise.all(pool.workers.map((w) => w.ready));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get concurrency(): number {
    return this.workers.length;
  }

  /** Per-worker set-up time, samples done and memory (as last reported by the worker). */
  stats(): WorkerStats[] {
    return this.workers.map((w) => ({ ...w.stats, memory: { ...w.stats.memory } }));
  }

  process(views: SampleViews): Promise<TuningOutcome> {
    return new Promise<TuningOutcome>((resolve, reject) => {
      this.queue.push({ views, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const worker of this.workers) {
      if (this.queue.length === 0) return;
      if (worker.busy) continue;
      const job = this.queue.shift()!;
      worker.tune(this.nextId++, job.views).then(job.resolve, job.reject);
    }
  }

  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.reject(new Error('the tuning pool was closed'));
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
