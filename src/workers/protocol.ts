import type { BackendChoice } from '../backend.js';
import type { TptConfig } from '../config/schema.js';
import type { PhaseSeconds } from '../tta/engine.js';
import type { ModelWeights } from '../model/model-weights.js';

/**
 * Messages between the main thread and a tuning worker. A worker builds ONE model at start-up and then
 * tunes whole samples, one at a time; views go in and logits come out as transferred buffers (no copies).
 */

/** How a worker gets its model. */
export type WorkerModelSource =
  /** Read the weights named by the config, as `tpt run` does in one thread. */
  | { kind: 'config'; config: TptConfig }
  /** Weights already decoded by the main thread, their arrays on SharedArrayBuffers (read, never copied per worker). */
  | { kind: 'weights'; config: TptConfig; weights: ModelWeights; classnames: readonly string[] };

export interface WorkerStartData {
  source: WorkerModelSource;
  /** The backend the main thread resolved ('auto' already decided), so every worker runs the same one. */
  backend: BackendChoice;
}

export interface TuneRequest {
  type: 'tune';
  id: number;
  /** [count, size, size, 3] float32, normalised (transferred). */
  data: Float32Array;
  count: number;
  size: number;
}

/** A worker's memory, in bytes: its own WebAssembly heap (where the model lives) and its JavaScript heap. */
export interface WorkerMemory {
  wasmHeapBytes: number;
  jsHeapBytes: number;
  /** The process's resident set (shared by all threads) when this was measured. */
  processRssBytes: number;
}

export type WorkerReply =
  | { type: 'ready'; backend: string; setupSeconds: number; memory: WorkerMemory }
  | { type: 'tuned'; id: number; baseLogits: Float32Array; tptLogits: Float32Array; loss: number; seconds: PhaseSeconds; memory: WorkerMemory }
  | { type: 'failed'; id: number | null; message: string; stack: string | undefined; code: string | undefined; hint: string | undefined };
