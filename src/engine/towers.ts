import type { TemplatePrompts } from '../model/template-prompts.js';

/**
 * The boundary between the TPT loop and the engines that run CLIP's two towers. Only host arrays cross it,
 * so the loop, the losses and AdamW never ask which engine they hold: tfjs (the reference, any JS runtime,
 * tfjs-node(-gpu) users) or ONNX Runtime (native kernels). Both engines build their towers from the same
 * `ModelWeights` and the same host `PromptSetup` (src/model/prompt-setup.ts; its `plan` is planPrompts's),
 * so every exact shortcut is derived once. The registry and factory are in create-towers.ts.
 *
 * Shapes: V views, S image size, E embedding dim, C classes, ctx [nCtx, W] or, with csc, [C, nCtx, W].
 */

/** Which engine runs the towers, for the banner, config.json and summary.json. */
export interface EngineInfo {
  /** 'tfjs' or 'onnxruntime'. */
  engine: 'tfjs' | 'onnxruntime';
  /** tfjs: its backend ('wasm', 'cpu', 'tensorflow'); onnxruntime: its execution provider ('cpu', 'cuda'). */
  provider: string;
  /** Human-readable origin, e.g. 'onnxruntime-node 1.30 (CPU, 2 threads)'. */
  detail: string;
  gpu: boolean;
}

/** The engine as config.json and summary.json record it. */
export interface EngineRecord {
  name: EngineInfo['engine'];
  provider: string;
  detail: string;
}

export function engineRecord(info: EngineInfo): EngineRecord {
  return { name: info.engine, provider: info.provider, detail: info.detail };
}

/** The `backend` recorded in config.json, summary.json and bench output: the tfjs backend, or the native engine's name. */
export function backendName(info: EngineInfo): string {
  return info.engine === 'tfjs' ? info.provider : info.engine;
}

/** One line for the banner and the log: "tfjs/wasm: @tensorflow/tfjs-backend-wasm (single-threaded, SIMD)". */
export function engineLabel(info: EngineInfo): string {
  return `${info.engine}/${info.provider}: ${info.detail}`;
}

export interface ClipTowers {
  readonly info: EngineInfo;
  /** E */
  readonly embedDim: number;
  /** C */
  readonly numClasses: number;
  /** exp(logit_scale) of the checkpoint (float64 of the float32 parameter), the logits' temperature. */
  readonly logitScale: number;
  /** The context's shape: [nCtx, W], or [C, nCtx, W] with csc. */
  readonly ctxShape: readonly number[];
  /** The initial context (CoOp's, ctx_init's or the seeded random one), row-major. Never modified. */
  readonly initialCtx: Float32Array;

  /** views [V, S, S, 3] NHWC, normalised → L2-normalised image features [V, E]. Never differentiated. */
  encodeImages(views: Float32Array, count: number, size: number): Promise<Float32Array>;

  /** The config's prompt-template ensemble (`templates`) over the classes, or null (the learned/ctx_init prompt). */
  readonly templatePrompts: TemplatePrompts | null;

  /**
   * L2-normalised text features [n, E] of plain tokenised prompts (clip.tokenize rows: SOT, ids, EOT, zeros;
   * no context vectors), in their order: CLIP's encode_text, normalised. Forward only, with the same exact
   * shortcuts as the context prompts (common leading tokens once, each prompt up to its EOT). The template
   * ensemble (src/engine/template-ensemble.ts) calls it one template and a chunk of classes at a time.
   */
  encodeTokenPrompts(tokens: readonly Int32Array[]): Promise<Float32Array>;

  /** L2-normalised text features [C, E] at the context `ctx`. */
  textFeatures(ctx: Float32Array): Promise<Float32Array>;

  /**
   * Text features [C, E] at `ctx`, then the vector–Jacobian product: `upstream` receives the features and
   * returns dL/d(features) [C, E]; the result is dL/dctx (ctx's shape). One call is one tuning step's text work.
   */
  textFeaturesWithGradient(
    ctx: Float32Array,
    upstream: (features: Float32Array) => Float32Array,
  ): Promise<{ features: Float32Array; ctxGradient: Float32Array }>;

  /** Frees every tensor and session the towers own (not the weights, which belong to the caller). */
  dispose(): Promise<void>;
}
