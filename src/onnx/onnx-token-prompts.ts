import type { StateDict } from '../weights/host-tensor.js';
import { takeParam } from '../model/model-weights.js';
import { embedSlots, planTokenPrompts } from '../model/prompt-plan.js';
import { fullPromptPlan, type OnnxPromptPlan, type TextArch } from './onnx-text-tower.js';
import { createSession, loadOrt, type Ort, type OrtSession, type SessionOptions } from './runtime.js';
import { buildTextForward, groupInput, TextWeights, type TextGraphLayout } from './text-graphs.js';

/**
 * Plain tokenised prompts (clip.tokenize rows, no context vectors) through the text tower's FORWARD graph on
 * ONNX Runtime: CLIP's encode_text, L2-normalised, for the template ensemble. Each call plans its prompts
 * (planTokenPrompts: the common leading tokens once, each prompt up to its EOT; or every prompt in full
 * without shortcuts), builds the forward graph of that plan's shape and runs it once. Graph shapes are
 * static, so a call of a new shape builds a new session; the last one is kept for a call of the same shape.
 */
export class OnnxTokenPrompts {
  private cached: { key: string; session: OrtSession } | undefined;
  private released = false;
  /** How many graphs (sessions) have been built; tests read it. */
  graphsBuilt = 0;

  private constructor(
    private readonly ort: Ort,
    private readonly weights: TextWeights,
    /** token_embedding [vocab, W] */
    private readonly tokenEmbedding: Float32Array,
    private readonly arch: TextArch,
    private readonly options: SessionOptions,
    private readonly shortcuts: boolean,
  ) {}

  static async create(stateDict: StateDict, arch: TextArch, options: SessionOptions & { shortcuts?: boolean }): Promise<OnnxTokenPrompts> {
    const ort = await loadOrt();
    const weights = new TextWeights(stateDict, { width: arch.width, heads: arch.heads, layers: arch.layers, embedDim: arch.embedDim, contextLength: arch.contextLength });
    const tokenEmbedding = takeParam(stateDict, 'token_embedding.weight', [arch.vocabSize, arch.width]).data;
    const { shortcuts, ...session } = options;
    return new OnnxTokenPrompts(ort, weights, tokenEmbedding, arch, session, shortcuts ?? true);
  }

  /** L2-normalised features [n, E] of the prompts, in their order. */
  async encode(tokens: readonly Int32Array[]): Promise<Float32Array> {
    if (this.released) throw new Error('OnnxTokenPrompts used after dispose()');
    if (tokens.length === 0) return new Float32Array(0);
    const { plan: planned, eotIndex } = planTokenPrompts(tokens);
    const plan: OnnxPromptPlan = this.shortcuts ? planned : fullPromptPlan(tokens, eotIndex, false);
    const layout: TextGraphLayout = {
      prefixLength: plan.prefixLength,
      groups: plan.groups.map((g) => ({ count: g.classes.length, length: g.length, eotRow: g.eotRow ?? g.length - 1 })),
    };
    const session = await this.sessionFor(layout);
    const out = await session.run(this.feeds(plan), ['features']);
    const features = out['features']!.data as Float32Array;
    // Group order → prompt order.
    const e = this.arch.embedDim;
    const ordered = new Float32Array(tokens.length * e);
    plan.rowOfClass.forEach((row, i) => ordered.set(features.subarray(row * e, (row + 1) * e), i * e));
    return ordered;
  }

  private feeds(plan: OnnxPromptPlan): Record<string, import('onnxruntime-node').Tensor> {
    const w = this.arch.width;
    const noContext = new Float32Array(0);
    const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
    const p = plan.prefixLength;
    if (p > 0) feeds['prefix'] = new this.ort.Tensor('float32', embedSlots(plan.prefixSlots, this.tokenEmbedding, noContext, w, 0, false, 0), [p, w]);
    plan.groups.forEach((g, i) => {
      const rows = new Float32Array(g.classes.length * g.length * w);
      g.slots.forEach((slots, j) => embedSlots(slots, this.tokenEmbedding, noContext, w, 0, false, 0, rows, j * g.length * w));
      feeds[groupInput(i)] = new this.ort.Tensor('float32', rows, [g.classes.length, g.length, w]);
    });
    return feeds;
  }

  private async sessionFor(layout: TextGraphLayout): Promise<OrtSession> {
    const key = JSON.stringify(layout);
    if (this.cached?.key === key) return this.cached.session;
    const previous = this.cached;
    this.cached = undefined;
    await previous?.session.release(); // one graph's weights at a time
    const session = await createSession(buildTextForward(this.weights, layout, { trace: false }).toBytes(), this.options);
    this.graphsBuilt++;
    this.cached = { key, session };
    return session;
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const cached = this.cached;
    this.cached = undefined;
    await cached?.session.release();
  }
}
