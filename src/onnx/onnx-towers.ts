import { createRequire } from 'node:module';
import type { CreateTowersOptions, NativeEngineEntry } from '../engine/create-towers.js';
import type { ClipTowers, EngineInfo } from '../engine/towers.js';
import type { ModelWeights } from '../model/host-params.js';
import { takeParam } from '../model/host-params.js';
import type { PromptSetup } from '../model/prompt-setup.js';
import type { TemplatePrompts } from '../model/template-prompts.js';
import { OnnxImageTower } from './onnx-image-tower.js';
import { fullPromptPlan, OnnxTextTower, textArchOf } from './onnx-text-tower.js';
import { OnnxTokenPrompts } from './onnx-token-prompts.js';
import { loadOrt, preferredProviders, type SessionOptions } from './runtime.js';

/**
 * The native engine: both CLIP towers on ONNX Runtime, over graphs built in memory from the loaded weights
 * (image-graphs.ts: the ResNet or ViT image graph; text-graphs.ts). It executes the same host prompt plan as
 * the tfjs reference, so every shortcut (shared prefix, end tokens, the last layer's EOT rows) is the one
 * derived and tested once.
 */
export class OnnxClipTowers implements ClipTowers {
  readonly embedDim: number;
  readonly numClasses: number;
  readonly logitScale: number;
  readonly ctxShape: readonly number[];
  readonly initialCtx: Float32Array;
  readonly templatePrompts: TemplatePrompts | null;
  /** Built on first use: only template ensembles encode plain token prompts. */
  private tokenPrompts: Promise<OnnxTokenPrompts> | undefined;

  private constructor(
    readonly info: EngineInfo,
    private readonly image: OnnxImageTower,
    private readonly text: OnnxTextTower,
    private readonly weights: ModelWeights,
    setup: PromptSetup,
    private readonly session: SessionOptions & { shortcuts: boolean },
  ) {
    this.embedDim = weights.arch.embedDim;
    this.numClasses = setup.numClasses;
    // As the tfjs towers compute it: exp of the float32 parameter, in float64.
    this.logitScale = Math.exp(takeParam(weights.stateDict, 'logit_scale', []).data[0]!);
    this.ctxShape = setup.ctxShape;
    this.initialCtx = setup.initialCtx;
    this.templatePrompts = setup.templatePrompts;
  }

  static async create(weights: ModelWeights, setup: PromptSetup, info: EngineInfo, options: CreateTowersOptions & { threads: number }): Promise<OnnxClipTowers> {
    const providers = info.provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
    const session = { threads: options.threads, providers };
    const plan = options.shortcuts === false ? fullPromptPlan(setup.slots, setup.eotIndex, setup.csc) : setup.plan;
    const image = await OnnxImageTower.create(weights.stateDict, weights.arch, session);
    try {
      const text = await OnnxTextTower.create(weights.stateDict, textArchOf(weights.arch), plan, { nCtx: setup.nCtx, csc: setup.csc }, session);
      // Every sample's first tuning step starts here: its forward pass (and the base features) run once per run.
      text.pinContext(setup.initialCtx);
      return new OnnxClipTowers(info, image, text, weights, setup, { ...session, shortcuts: options.shortcuts !== false });
    } catch (e) {
      await image.dispose();
      throw e;
    }
  }

  encodeImages(views: Float32Array, count: number, size: number): Promise<Float32Array> {
    return this.image.encodeImages(views, count, size);
  }

  async encodeTokenPrompts(tokens: readonly Int32Array[]): Promise<Float32Array> {
    this.tokenPrompts ??= OnnxTokenPrompts.create(this.weights.stateDict, textArchOf(this.weights.arch), this.session);
    return (await this.tokenPrompts).encode(tokens);
  }

  textFeatures(ctx: Float32Array): Promise<Float32Array> {
    return this.text.textFeatures(ctx);
  }

  textFeaturesWithGradient(ctx: Float32Array, upstream: (features: Float32Array) => Float32Array): Promise<{ features: Float32Array; ctxGradient: Float32Array }> {
    return this.text.textFeaturesWithGradient(ctx, upstream);
  }

  async dispose(): Promise<void> {
    const tokenPrompts = this.tokenPrompts;
    this.tokenPrompts = undefined;
    await Promise.all([this.image.dispose(), this.text.dispose(), tokenPrompts?.then((t) => t.dispose())]);
  }
}

function onnxRuntimeVersion(): string {
  const manifest = createRequire(import.meta.url)('onnxruntime-node/package.json') as { version?: string };
  return manifest.version ?? 'unknown version';
}

/** The engine registry's entry for `backend: onnxruntime` (and the first choice of `auto`). */
export const ONNX_ENGINE: NativeEngineEntry = {
  async select({ threads }) {
    await loadOrt();
    const cuda = (await preferredProviders())[0] === 'cuda';
    return {
      engine: 'onnxruntime',
      provider: cuda ? 'cuda' : 'cpu',
      detail: `onnxruntime-node ${onnxRuntimeVersion()} (${cuda ? 'CUDA' : `CPU, ${threads} thread${threads === 1 ? '' : 's'}`})`,
      gpu: cuda,
    };
  },
  create: (weights, setup, info, options) => OnnxClipTowers.create(weights, setup, info, options),
};
