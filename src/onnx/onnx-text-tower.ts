import type { StateDict } from '../weights/host-tensor.js';
import { takeParam } from '../model/model-weights.js';
import type { ModelArch } from '../model/model-weights.js';
import { accumulateCtxGradient, embedSlots } from '../model/prompt-plan.js';
import type { PromptGroupPlan, PromptPlan, PromptSlots } from '../model/prompt-plan.js';
import { createSession, loadOrt, type OrtSession, type SessionOptions } from './runtime.js';
import {
  TextWeights,
  buildTextBackward,
  buildTextForward,
  groupGradient,
  groupInput,
  traceOutputs,
  type BackwardMode,
  type TextGraphLayout,
  type TextTowerShape,
} from './text-graphs.js';

/**
 * CLIP's text tower on ONNX Runtime for one prompt plan: the host assembles each row of the plan's prompt
 * embeddings from token_embedding and ctx, the forward graph returns L2-normalised features, and the backward
 * graph returns the embeddings' gradient, which the host sums into dL/dctx. The losses and their gradient
 * with respect to the features stay with the caller (`upstream`).
 */

export interface TextArch {
  width: number;
  heads: number;
  layers: number;
  contextLength: number;
  embedDim: number;
  vocabSize: number;
}

export function textArchOf(arch: ModelArch): TextArch {
  return {
    width: arch.transformerWidth,
    heads: arch.transformerHeads,
    layers: arch.transformerLayers,
    contextLength: arch.contextLength,
    embedDim: arch.embedDim,
    vocabSize: arch.vocabSize,
  };
}

/** A plan group, optionally with its EOT before the last row (the seed's full prompts: see fullPromptPlan). */
export type OnnxPromptGroup = PromptGroupPlan & { eotRow?: number };
export type OnnxPromptPlan = Omit<PromptPlan, 'groups'> & { groups: OnnxPromptGroup[] };

/**
 * The seed's path without shortcuts: every class's full contextLength rows, no shared prefix, the EOT row
 * picked where it lies. Classes are grouped by EOT position. Exact, and much slower: for tests.
 */
export function fullPromptPlan(slots: readonly PromptSlots[], eotIndex: readonly number[], csc: boolean): OnnxPromptPlan {
  const byEot = new Map<number, number[]>();
  eotIndex.forEach((e, c) => byEot.set(e, [...(byEot.get(e) ?? []), c]));
  const groups = [...byEot.entries()].map(([eot, classes]): OnnxPromptGroup => ({
    classes,
    length: slots[classes[0]!]!.length,
    slots: classes.map((c) => slots[c]!.slice()),
    eotRow: eot,
  }));
  const rowOfClass = new Int32Array(slots.length);
  groups.flatMap((g) => g.classes).forEach((c, row) => (rowOfClass[c] = row));
  return { numClasses: slots.length, csc, prefixLength: 0, prefixSlots: new Int32Array(0), groups, rowOfClass };
}

export interface OnnxTextTowerOptions extends SessionOptions {
  /**
   * How the backward graph gets the forward's values. Default 'saved': at RN50 size (200 prompts) it measured
   * faster than 'recompute' (no second forward pass) and lighter (one copy of the weights per session).
   */
  backward?: BackwardMode;
}

type OrtTensor = import('onnxruntime-node').Tensor;

/** One forward pass: its inputs, its outputs (features and saved values) and the features in class order. */
interface ForwardResult {
  feeds: Record<string, OrtTensor>;
  forward: Record<string, OrtTensor>;
  features: Float32Array;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

export class OnnxTextTower {
  private released = false;
  /** The forward outputs the backward graph reads in 'saved' mode (none in 'recompute'); fixed by the layout. */
  private readonly traceNames: readonly string[];

  private constructor(
    private readonly ort: typeof import('onnxruntime-node'),
    private readonly forwardSession: OrtSession,
    private readonly backwardSession: OrtSession,
    private readonly mode: BackwardMode,
    /** token_embedding [vocab, W] */
    private readonly tokenEmbedding: Float32Array,
    readonly arch: TextArch,
    readonly plan: OnnxPromptPlan,
    private readonly prompt: { nCtx: number; csc: boolean },
    private readonly layout: TextGraphLayout,
  ) {
    this.traceNames = mode === 'saved' ? traceOutputs(arch, layout).map((t) => t.name) : [];
  }

  static async create(
    stateDict: StateDict,
    arch: TextArch,
    plan: OnnxPromptPlan,
    prompt: { nCtx: number; csc: boolean },
    options: OnnxTextTowerOptions,
  ): Promise<OnnxTextTower> {
    const ort = await loadOrt();
    const shape: TextTowerShape = { width: arch.width, heads: arch.heads, layers: arch.layers, embedDim: arch.embedDim, contextLength: arch.contextLength };
    const tokenEmbedding = takeParam(stateDict, 'token_embedding.weight', [arch.vocabSize, arch.width]).data;
    const layout: TextGraphLayout = {
      prefixLength: plan.prefixLength,
      groups: plan.groups.map((g) => ({ count: g.classes.length, length: g.length, eotRow: g.eotRow ?? g.length - 1 })),
    };
    const mode = options.backward ?? 'saved';
    const weights = new TextWeights(stateDict, shape);
    // One graph's bytes at a time: each is dropped once its session holds the weights.
    const forwardSession = await createSession(buildTextForward(weights, layout, { trace: mode === 'saved' }).toBytes(), options);
    let backwardSession: OrtSession;
    try {
      backwardSession = await createSession(buildTextBackward(weights, layout, mode).toBytes(), options);
    } catch (e) {
      await forwardSession.release();
      throw e;
    }
    return new OnnxTextTower(ort, forwardSession, backwardSession, mode, tokenEmbedding, arch, plan, prompt, layout);
  }

  get numClasses(): number {
    return this.plan.numClasses;
  }

  /** The plan's embedding inputs at ctx: `prefix` [P, W] and `group_i` [n_i, R_i, W]. */
  private embeddings(ctx: Float32Array): Record<string, import('onnxruntime-node').Tensor> {
    const { width: w } = this.arch;
    const { nCtx, csc } = this.prompt;
    const expected = (csc ? this.plan.numClasses : 1) * nCtx * w;
    if (ctx.length !== expected) throw new Error(`OnnxTextTower: ctx has ${ctx.length} values, expected ${expected}`);
    const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
    const p = this.plan.prefixLength;
    if (p > 0) feeds['prefix'] = new this.ort.Tensor('float32', embedSlots(this.plan.prefixSlots, this.tokenEmbedding, ctx, w, nCtx, csc, 0), [p, w]);
    this.plan.groups.forEach((g, i) => {
      const rows = new Float32Array(g.classes.length * g.length * w);
      g.classes.forEach((cls, j) => embedSlots(g.slots[j]!, this.tokenEmbedding, ctx, w, nCtx, csc, cls, rows, j * g.length * w));
      feeds[groupInput(i)] = new this.ort.Tensor('float32', rows, [g.classes.length, g.length, w]);
    });
    return feeds;
  }

  /** Group order → class order: [C, E]. */
  private toClassOrder(features: Float32Array): Float32Array {
    const e = this.arch.embedDim;
    const out = new Float32Array(features.length);
    this.plan.rowOfClass.forEach((row, c) => out.set(features.subarray(row * e, (row + 1) * e), c * e));
    return out;
  }

  private toGroupOrder(perClass: Float32Array): Float32Array {
    const e = this.arch.embedDim;
    const out = new Float32Array(perClass.length);
    this.plan.rowOfClass.forEach((row, c) => out.set(perClass.subarray(c * e, (c + 1) * e), row * e));
    return out;
  }

  private assertOpen(): void {
    if (this.released) throw new Error('OnnxTextTower used after dispose()');
  }

  /** L2-normalised text features [C, E], in class order. */
  async textFeatures(ctx: Float32Array): Promise<Float32Array> {
    this.assertOpen();
    if (this.pinned && sameValues(ctx, this.pinned.ctx)) return (await this.pinnedForward(this.pinned)).features.slice();
    this.forwardRuns++;
    const out = await this.forwardSession.run(this.embeddings(ctx), ['features']);
    return this.toClassOrder(out['features']!.data as Float32Array);
  }

  /**
   * Keeps the forward pass at `ctx` (features and, in 'saved' mode, the values the backward reads) once it has
   * run. TPT's first tuning step of every sample starts from the same initial context, and its forward pass does
   * not depend on the sample, so it runs once per run instead of once per sample: bit-identical, and a tuning
   * step's text work is then its backward pass alone. Costs the saved values' memory (about 170 MB at RN50 size,
   * 200 classes, as the text helper estimated from the trace's shapes).
   */
  pinContext(ctx: Float32Array): void {
    this.pinned = { ctx: ctx.slice(), forward: undefined };
  }

  /** How many forward passes have run (the pinned one once); tests read it. */
  forwardRuns = 0;

  private pinned: { ctx: Float32Array; forward: Promise<ForwardResult> | undefined } | undefined;

  private pinnedForward(pinned: NonNullable<typeof this.pinned>): Promise<ForwardResult> {
    pinned.forward ??= this.runForward(pinned.ctx);
    return pinned.forward;
  }

  private async runForward(ctx: Float32Array): Promise<ForwardResult> {
    this.forwardRuns++;
    const feeds = this.embeddings(ctx);
    const forward = await this.forwardSession.run(feeds, ['features', ...this.traceNames]);
    return { feeds, forward, features: this.toClassOrder(forward['features']!.data as Float32Array) };
  }

  /** Features [C, E] and dL/dctx, where `upstream` maps the features to dL/d(features). */
  async textFeaturesWithGradient(
    ctx: Float32Array,
    upstream: (features: Float32Array) => Float32Array,
  ): Promise<{ features: Float32Array; ctxGradient: Float32Array }> {
    this.assertOpen();
    const pinned = this.pinned !== undefined && sameValues(ctx, this.pinned.ctx) ? this.pinned : undefined;
    const { feeds, forward, features } = await (pinned ? this.pinnedForward(pinned) : this.runForward(ctx));
    const saved = this.mode === 'saved';
    const dFeatures = upstream(features);
    if (dFeatures.length !== features.length) throw new Error(`upstream returned ${dFeatures.length} values for features of ${features.length}`);

    // A copy: the pinned pass's inputs are kept, and this object gains d_features.
    const backwardFeeds: Record<string, import('onnxruntime-node').Tensor> = saved ? {} : { ...feeds };
    for (const name of this.traceNames) backwardFeeds[name] = forward[name]!;
    backwardFeeds['d_features'] = new this.ort.Tensor('float32', this.toGroupOrder(dFeatures), [this.plan.numClasses, this.arch.embedDim]);
    const grads = await this.backwardSession.run(backwardFeeds);

    const { width: w } = this.arch;
    const { nCtx, csc } = this.prompt;
    const ctxGradient = new Float32Array(ctx.length);
    if (this.plan.prefixLength > 0) {
      accumulateCtxGradient(this.plan.prefixSlots, grads['d_prefix']!.data as Float32Array, 0, ctxGradient, w, nCtx, csc, 0);
    }
    this.plan.groups.forEach((g, i) => {
      const rows = grads[groupGradient(i)]!.data as Float32Array;
      g.classes.forEach((cls, j) => accumulateCtxGradient(g.slots[j]!, rows, j * g.length * w, ctxGradient, w, nCtx, csc, cls));
    });
    // The pinned pass's features are kept for later samples, so the caller gets a copy of those only.
    return { features: pinned ? features.slice() : features, ctxGradient };
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.forwardSession.release();
    await this.backwardSession.release();
  }
}
