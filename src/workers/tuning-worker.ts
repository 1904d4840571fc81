/**
 * Entry of a tuning worker thread (compiled to dist/workers/tuning-worker.js; worker threads run compiled
 * code). Workers run the tfjs engine (ONNX Runtime parallelises inside one engine instead). It owns a tfjs
 * backend and one model copy, built once, then runs the config's method's per-sample tuner
 * (src/tta/methods/) on the views it is sent. Samples never share state: the engine resets the context and the optimizer first,
 * so a sample's result does not depend on which worker ran it or what that worker ran before.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend.js';
import { tfjsEngineInfo } from '../engine/create-towers.js';
import { TfjsClipTowers } from '../engine/tfjs-towers.js';
import { isTptError } from '../errors.js';
import { loadTokenizer } from '../model/tokenizer.js';
import type { SampleTuner } from '../tta/methods/types.js';
import { buildTfjsTuner, loadModelInputs, tunerOver } from '../tta/model-loader.js';
import type { TuneRequest, WorkerMemory, WorkerReply, WorkerStartData } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('tuning-worker.js runs only as a worker thread');

/** The backend's WebAssembly memory (it only grows, so its size is also its peak). */
function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? tf.memory().numBytes;
}

let jsHeapPeak = 0;
function memory(): WorkerMemory {
  const usage = process.memoryUsage();
  jsHeapPeak = Math.max(jsHeapPeak, usage.heapUsed);
  return { wasmHeapBytes: wasmHeapBytes(), jsHeapBytes: jsHeapPeak, processRssBytes: usage.rss };
}

function failure(id: number | null, e: unknown): WorkerReply {
  const error = e instanceof Error ? e : new Error(String(e));
  return {
    type: 'failed',
    id,
    message: error.message,
    stack: error.stack,
    code: isTptError(e) ? e.code : undefined,
    hint: isTptError(e) ? e.hint : undefined,
  };
}

async function start(data: WorkerStartData): Promise<SampleTuner> {
  if (data.backend === 'onnxruntime') throw new Error('tuning workers run the tfjs engine only');
  const info = tfjsEngineInfo(await initBackend(data.backend));
  const { source } = data;
  let tuner: SampleTuner;
  if (source.kind === 'config') {
    // Keep only the tuner: the decoded checkpoint can then be collected once the model holds its tensors.
    const inputs = await loadModelInputs(source.config);
    tuner = tunerOver(source.config, TfjsClipTowers.create(inputs.weights, inputs.setup, info)).tuner;
  } else {
    const tokenizer = await loadTokenizer(source.config.bpe_path ?? undefined);
    tuner = buildTfjsTuner(source.config, source.weights, tokenizer, info, source.classnames).tuner;
  }
  // Once per run, not per sample: the text features at the initial context (the base scores use them).
  await tuner.prepare();
  return tuner;
}

const setupStart = performance.now();
try {
  const tuner = await start(workerData as WorkerStartData);
  // The pool sends a worker one sample at a time, so these handlers never overlap.
  port.on('message', async (request: TuneRequest) => {
    let reply: WorkerReply;
    try {
      const outcome = await tuner.tuneSample({ data: request.data, count: request.count, size: request.size });
      // Own copies (200 floats each): a backend may hand out views of its storage, which must not be detached.
      const baseLogits = outcome.baseLogits.slice();
      const tptLogits = outcome.tptLogits.slice();
      reply = { type: 'tuned', id: request.id, ...outcome, baseLogits, tptLogits, memory: memory() };
      port.postMessage(reply, [baseLogits.buffer, tptLogits.buffer]);
    } catch (e) {
      port.postMessage(failure(request.id, e));
    }
  });
  const ready: WorkerReply = { type: 'ready', backend: tf.getBackend(), setupSeconds: (performance.now() - setupStart) / 1000, memory: memory() };
  port.postMessage(ready);
} catch (e) {
  port.postMessage(failure(null, e));
}
