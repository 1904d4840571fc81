import { TptError } from '../errors.js';

/**
 * onnxruntime-node, loaded on first use: importing it loads a native library, which `tpt report`, config
 * parsing and the tfjs engine never need. A failed load (an unsupported platform, a broken install) is a
 * TptError, so `backend: auto` can fall back to tfjs and say why.
 */
export type Ort = typeof import('onnxruntime-node');
export type OrtSession = import('onnxruntime-node').InferenceSession;

let loaded: Promise<Ort> | undefined;

export function loadOrt(): Promise<Ort> {
  loaded ??= import('onnxruntime-node').catch((e: unknown) => {
    loaded = undefined;
    throw new TptError('ENGINE_UNAVAILABLE', `onnxruntime-node could not be loaded: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, {
      hint: 'Reinstall with `npm ci` (its CPU binaries ship in the npm package), or use --backend wasm.',
      cause: e,
    });
  });
  return loaded;
}

/** The execution providers this onnxruntime-node build can use ('cpu', and 'cuda' once its provider is installed). */
export async function availableProviders(): Promise<string[]> {
  const ort = await loadOrt();
  return ort.listSupportedBackends().map((b) => b.name);
}

export interface SessionOptions {
  /** Intra-op threads (results do not depend on it). */
  threads: number;
  /** Execution providers in order of preference; 'cpu' is always last. */
  providers?: readonly string[];
}

/** An inference session over a graph built in memory. */
export async function createSession(model: Uint8Array, options: SessionOptions): Promise<OrtSession> {
  const ort = await loadOrt();
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: [...(options.providers ?? ['cpu'])] as string[],
    // Idle intra-op threads block instead of spinning: the towers run between host work (losses, AdamW, views
    // in other workers), and spinning threads took that CPU. Measured with 2 threads: 40 tiny-tower calls
    // 0.06 s CPU instead of 0.2–0.3 s at the same wall time; RN50's 64 views on a busy 2-core machine
    // 8.7 s instead of 16.4 s.
    extra: { 'session.intra_op.allow_spinning': '0' },
  });
}
