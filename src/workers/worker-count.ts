import { availableParallelism } from 'node:os';
import type { BackendInfo } from '../backend.js';

/**
 * Samples tuned in parallel when the config leaves `workers` at 0 (automatic): one per core on a CPU backend
 * (wasm and tfjs-backend-cpu are single-threaded, so each core runs its own model), one on a GPU, where
 * a single model already keeps the device busy and more copies would only compete for its memory.
 */
export function resolveWorkerCount(configured: number, backend: Pick<BackendInfo, 'gpu'>): number {
  if (configured >= 1) return configured;
  return backend.gpu ? 1 : availableParallelism();
}
