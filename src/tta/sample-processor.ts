import * as tf from '@tensorflow/tfjs-core';
import type { TptConfig } from '../config/schema.js';
import type { BackendChoice } from '../engine/choices.js';
import type { SelectedEngine } from '../engine/create-towers.js';
import type { ModelWeights } from '../model/model-weights.js';
import type { PromptSetup } from '../model/prompt-setup.js';
import { shareStateDict } from '../workers/shared-weights.js';
import { TuningPool, type WorkerStats } from '../workers/tuning-pool.js';
import { METHODS, type SampleTuner } from './methods/registry.js';
import { tunerOver, type OwnedTuner } from './model-loader.js';
import type { SampleProcessor } from './run-session.js';

/**
 * The per-sample processor of a run and of `tpt bench`, built in this one place from the config's method:
 * `workers` > 1 starts worker threads (tfjs on a CPU backend), each building the method's tuner over its own
 * model from this thread's decoded weights (shared memory, not re-read); 1 builds it here, on the selected
 * engine. Either way the text work that does not depend on the sample is done before the first sample.
 */

/** A processor that also reports its threads' memory (`tpt bench`). */
export interface MethodProcessor extends SampleProcessor {
  workerStats(): WorkerStats[];
}

export interface ProcessorModel {
  /** Decoded weights (with CoOp's context where the run has one). */
  weights: ModelWeights & { bpePath?: string | undefined };
  /** The class names the prompts use. */
  classnames: readonly string[];
  /** The host prompt setup over `weights` and `classnames` (asked for only when tuning in this thread). */
  setup: () => PromptSetup | Promise<PromptSetup>;
}

/** A tuner in this thread, one sample at a time; closing it frees its towers. */
export function inThreadProcessor(owned: OwnedTuner): MethodProcessor {
  let samples = 0;
  return {
    concurrency: 1,
    process: (views) => {
      samples += 1;
      return owned.tuner.tuneSample(views);
    },
    restore: (updates) => {
      const tuner = owned.tuner as SampleTuner & { restore?: (updates: readonly unknown[]) => void };
      if (tuner.restore === undefined) throw new Error('restore: this method keeps no state between samples');
      tuner.restore(updates);
    },
    workerStats: () => {
      const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength ?? tf.memory().numBytes;
      const usage = process.memoryUsage();
      return [{ threadId: 0, setupSeconds: 0, samples, memory: { wasmHeapBytes: wasm, jsHeapBytes: usage.heapUsed, processRssBytes: usage.rss } }];
    },
    close: () => owned.dispose(),
  };
}

function isShared(weights: ModelWeights): boolean {
  const first = weights.stateDict.values().next().value;
  return first === undefined || first.data.buffer instanceof SharedArrayBuffer;
}

export async function startSampleProcessor(config: TptConfig, engine: SelectedEngine, model: ProcessorModel, workers: number): Promise<MethodProcessor> {
  if (workers > 1 && METHODS[config.method].kind === 'episodic') {
    const weights = isShared(model.weights) ? model.weights : { ...model.weights, stateDict: shareStateDict(model.weights.stateDict) };
    const pool = await TuningPool.start(
      { kind: 'weights', config: { ...config, bpe_path: config.bpe_path ?? model.weights.bpePath ?? null }, weights, classnames: model.classnames },
      { workers, backend: engine.info.provider as BackendChoice },
    );
    return { concurrency: pool.concurrency, process: (views) => pool.process(views), workerStats: () => pool.stats(), close: () => pool.close() };
  }
  const owned = tunerOver(config, await engine.create(model.weights, await model.setup()));
  try {
    await owned.tuner.prepare(); // once per run, before the clock of the first sample
  } catch (e) {
    await owned.dispose();
    throw e;
  }
  return inThreadProcessor(owned);
}
