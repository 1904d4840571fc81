import { availableParallelism } from 'node:os';
import { initBackend, type BackendInfo } from '../backend.js';
import { TptError } from '../errors.js';
import { ONNX_ENGINE } from '../onnx/onnx-towers.js';
import type { ModelWeights } from '../model/host-params.js';
import type { PromptSetup } from '../model/prompt-setup.js';
import type { BackendChoice, TfjsBackendChoice } from './choices.js';
import { TfjsClipTowers } from './tfjs-towers.js';
import { engineLabel, type ClipTowers, type EngineInfo } from './towers.js';

/**
 * The engine registry: which engine runs CLIP's towers for a `backend` choice, and the factory that builds
 * them. Selecting an engine loads its runtime but builds no model (a run that is already finished, or one
 * that hands its samples to worker threads, needs none in this thread); `create` then builds the towers.
 *
 * The losses, the logits and their gradient always run on tfjs (src/tta/engine.ts), so selecting a native
 * engine also initialises a tfjs backend for them (wasm, the reference).
 */

export interface CreateTowersOptions {
  /** Exact text shortcuts (shared prefix, end tokens); false runs the seed's full prompts. Default true. */
  shortcuts?: boolean;
  /** tfjs: views per image-tower pass (bounds memory). */
  imageChunkSize?: number;
  /** Native engines: intra-op threads. Default: every core. */
  threads?: number;
}

/** A native engine (an entry of `NATIVE_ENGINES`). */
export interface NativeEngineEntry {
  /** Loads the runtime and says what will run; throws a TptError (ENGINE_UNAVAILABLE) when it cannot. */
  select(options: { threads: number }): Promise<EngineInfo>;
  create(weights: ModelWeights, setup: PromptSetup, info: EngineInfo, options: Required<Pick<CreateTowersOptions, 'threads'>> & CreateTowersOptions): Promise<ClipTowers>;
}

/**
 * Native engines by backend choice: ONNX Runtime (src/onnx/). Its runtime loads only when selected; when it
 * cannot load, `--backend onnxruntime` is ENGINE_UNAVAILABLE and `auto` falls back to tfjs with the reason.
 */
export const NATIVE_ENGINES: Partial<Record<'onnxruntime', NativeEngineEntry>> = { onnxruntime: ONNX_ENGINE };

/** The engine a choice resolved to; `towers()` builds them. */
export interface SelectedEngine {
  info: EngineInfo;
  /** Why more preferred engines were passed over (`auto` only), for the log and the banner. */
  fallbacks: string[];
  /** Intra-op threads of a native engine (1 for tfjs, whose parallelism is worker threads). */
  threads: number;
  create(weights: ModelWeights, setup: PromptSetup, options?: CreateTowersOptions): Promise<ClipTowers>;
}

export function tfjsEngineInfo(backend: BackendInfo): EngineInfo {
  return { engine: 'tfjs', provider: backend.name, detail: backend.detail, gpu: backend.gpu };
}

async function selectTfjs(choice: TfjsBackendChoice, fallbacks: string[]): Promise<SelectedEngine> {
  const info = tfjsEngineInfo(await initBackend(choice));
  return {
    info,
    fallbacks,
    threads: 1,
    create: async (weights, setup, options = {}) => TfjsClipTowers.create(weights, setup, info, options),
  };
}

async function selectNative(name: 'onnxruntime', threads: number, fallbacks: string[]): Promise<SelectedEngine> {
  const entry = NATIVE_ENGINES[name];
  if (!entry) {
    throw new TptError('ENGINE_UNAVAILABLE', `the ${name} engine is not part of this build`, {
      hint: 'Use --backend wasm (or tensorflow with @tensorflow/tfjs-node installed), or auto.',
    });
  }
  const info = await entry.select({ threads });
  // The loss and its gradient with respect to the text features run on tfjs.
  await initBackend('wasm');
  return {
    info,
    fallbacks,
    threads,
    create: (weights, setup, options = {}) => entry.create(weights, setup, info, { ...options, threads: options.threads ?? threads }),
  };
}

/** The banner's and `tpt classify`'s engine line: engineLabel, then any engine `auto` passed over and why. */
export function selectedEngineLabel(engine: SelectedEngine): string {
  return engineLabel(engine.info) + engine.fallbacks.map((f) => ` (passed over ${f})`).join('');
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Resolves a backend choice to an engine. `auto`: onnxruntime, then tfjs-node-gpu, tfjs-node, wasm; a native
 * engine that cannot load is passed over with its reason in `fallbacks`.
 */
export async function selectEngine(choice: BackendChoice, options: { threads?: number } = {}): Promise<SelectedEngine> {
  const threads = options.threads ?? availableParallelism();
  if (choice === 'onnxruntime') return selectNative('onnxruntime', threads, []);
  if (choice !== 'auto') return selectTfjs(choice, []);
  const fallbacks: string[] = [];
  try {
    return await selectNative('onnxruntime', threads, fallbacks);
  } catch (e) {
    fallbacks.push(`onnxruntime: ${reasonOf(e)}`);
  }
  return selectTfjs('auto', fallbacks);
}

/** The one-call factory: the engine for `choice` and its towers over `weights` and `setup`. */
export async function createClipTowers(
  choice: BackendChoice,
  weights: ModelWeights,
  setup: PromptSetup,
  options: CreateTowersOptions = {},
): Promise<{ towers: ClipTowers; info: EngineInfo; fallbacks: string[] }> {
  const engine = await selectEngine(choice, options.threads !== undefined ? { threads: options.threads } : {});
  const towers = await engine.create(weights, setup, options);
  return { towers, info: engine.info, fallbacks: engine.fallbacks };
}
