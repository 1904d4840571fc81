import { availableParallelism } from 'node:os';
import type { EngineInfo } from '../engine/towers.js';

/**
 * Samples tuned in parallel. ONNX Runtime: always one in-process engine, whose kernels use every core
 * (intra-op threads), so worker copies would only compete for them. tfjs, when the config leaves `workers`
 * at 0 (automatic): one per core on a CPU backend (wasm and tfjs-backend-cpu are single-threaded, so each
 * core runs its own model), one on a GPU, where a single model already keeps the device busy and more
 * copies would only compete for its memory.
 */
export function resolveWorkerCount(configured: number, engine: Pick<EngineInfo, 'gpu'> & { engine?: EngineInfo['engine'] }): number {
  if (engine.engine === 'onnxruntime') return 1;
  if (configured >= 1) return configured;
  return engine.gpu ? 1 : availableParallelism();
}
