import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackendChoice } from './engine/choices.js';
import { TptError } from './errors.js';
// The tfjs entry point registers the gradient functions (tfjs-core alone registers none that plain Node can
// load); the text tower and the losses are differentiated on whichever backend this selects.
import './model/gradients.js';

/**
 * The TensorFlow.js backend. `auto` prefers CUDA, then native CPU, then WebAssembly; the two native packages
 * are optionalDependencies because their install step downloads libtensorflow, which fails on machines
 * without that download. WebAssembly always installs, and in Node it runs single-threaded with SIMD. (The
 * engine choice, onnxruntime included, is src/engine/create-towers.ts's.)
 */
export { BACKEND_CHOICES, type BackendChoice, type TfjsBackendChoice } from './engine/choices.js';

export interface BackendInfo {
  /** The tfjs backend name actually in use: 'tensorflow', 'wasm' or 'cpu'. */
  name: string;
  /** Human-readable origin, e.g. '@tensorflow/tfjs-node-gpu (CUDA)'. */
  detail: string;
  /** True when the backend runs on a GPU; parallel workers then default to 1. */
  gpu: boolean;
}

let active: BackendInfo | undefined;

async function tryImport(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

async function useTensorflow(): Promise<BackendInfo | undefined> {
  if (await tryImport('@tensorflow/tfjs-node-gpu')) {
    if (await tf.setBackend('tensorflow')) return { name: 'tensorflow', detail: '@tensorflow/tfjs-node-gpu (CUDA)', gpu: true };
  }
  if (await tryImport('@tensorflow/tfjs-node')) {
    if (await tf.setBackend('tensorflow')) return { name: 'tensorflow', detail: '@tensorflow/tfjs-node (native CPU)', gpu: false };
  }
  return undefined;
}

async function useWasm(): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) {
    throw new TptError('BACKEND', 'the WebAssembly backend failed to initialise', {
      hint: 'Reinstall with `npm ci`; @tensorflow/tfjs-backend-wasm ships its .wasm files.',
    });
  }
  return { name: 'wasm', detail: '@tensorflow/tfjs-backend-wasm (single-threaded, SIMD)', gpu: false };
}

async function useCpu(): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  return { name: 'cpu', detail: '@tensorflow/tfjs-backend-cpu (pure JavaScript, slow)', gpu: false };
}

/** Selects and initialises a backend once per process (or worker thread); later calls return the first choice. */
export async function initBackend(choice: TfjsBackendChoice = 'auto'): Promise<BackendInfo> {
  if (active) return active;
  let info: BackendInfo | undefined;
  switch (choice) {
    case 'tensorflow':
      info = await useTensorflow();
      if (!info) {
        throw new TptError('BACKEND', 'backend "tensorflow" requested, but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded', {
          hint: 'Run its libtensorflow download with `npm rebuild @tensorflow/tfjs-node-gpu --ignore-scripts=false` on a CUDA 11.2 / cuDNN 8.1 machine (or @tensorflow/tfjs-node), or use --backend wasm.',
        });
      }
      break;
    case 'wasm':
      info = await useWasm();
      break;
    case 'cpu':
      info = await useCpu();
      break;
    case 'auto':
      info = (await useTensorflow()) ?? (await useWasm());
      break;
  }
  await tf.ready();
  active = info;
  return info;
}

export function activeBackend(): BackendInfo | undefined {
  return active;
}
