import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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

/**
 * The providers for a session when none are asked for: CUDA first when its provider library is installed
 * (`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --ignore-scripts=false` downloads it next to the CPU binaries; it needs CUDA 12
 * and cuDNN 9), else the CPU alone. `listSupportedBackends()` names 'cuda' on every linux-x64 build whether
 * or not the library is there, and a session asking for it without the library fails, so the file decides.
 * With the default install (`.npmrc`'s ignore-scripts skips the download) this is exactly ['cpu']: the CPU path is unchanged.
 * Not run on a GPU here. On CUDA, ONNX Runtime may use TF32 convolutions on Ampere and later GPUs, so its
 * features are not held to the CPU path's 1e-4.
 */
export async function preferredProviders(): Promise<string[]> {
  if (!(await availableProviders()).includes('cuda')) return ['cpu'];
  const packageDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return existsSync(join(packageDir, 'bin', 'napi-v6', process.platform, process.arch, library)) ? ['cuda', 'cpu'] : ['cpu'];
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
  const providers = [...(options.providers ?? ['cpu'])];
  try {
    return await openSession(ort, model, options.threads, providers);
  } catch (e) {
    // On the CPU a failure here is a graph this project built wrongly (a bug); with CUDA it is the machine's
    // CUDA 12 / cuDNN 9 libraries, which the user can fix.
    if (!providers.includes('cuda')) throw e;
    throw new TptError('ENGINE_UNAVAILABLE', `onnxruntime could not start its CUDA provider: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, {
      hint: 'Install CUDA 12 and cuDNN 9 where the loader finds them (LD_LIBRARY_PATH); to stay on the CPU, delete libonnxruntime_providers_cuda.so under node_modules/onnxruntime-node/bin/, or use --backend wasm.',
      cause: e,
    });
  }
}

function openSession(ort: Ort, model: Uint8Array, threads: number, providers: string[]): Promise<OrtSession> {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: providers,
    // Idle intra-op threads block instead of spinning: the towers run between host work (losses, AdamW, views
    // in other workers), and spinning threads took that CPU. Measured with 2 threads: 40 tiny-tower calls
    // 0.06 s CPU instead of 0.2–0.3 s at the same wall time; RN50's 64 views on a busy 2-core machine
    // 8.7 s instead of 16.4 s.
    extra: { 'session.intra_op.allow_spinning': '0' },
  });
}
