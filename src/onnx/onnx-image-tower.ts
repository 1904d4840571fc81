import type { ModelArch } from '../model/model-weights.js';
import type { StateDict } from '../weights/host-tensor.js';
import { buildImageGraph } from './image-graphs.js';
import { IMAGE_INPUT, IMAGE_OUTPUT } from './image-io.js';
import { createSession, loadOrt, preferredProviders, type Ort, type OrtSession } from './runtime.js';

export interface OnnxImageTowerOptions {
  /** Intra-op threads; the features do not depend on it. */
  threads: number;
  /** Execution providers in order of preference; default `preferredProviders()`: ['cuda', 'cpu'] where CUDA's provider is installed, else ['cpu']. */
  providers?: string[];
  /** Views per session run; bounds the activation memory (RN50 at 224 px: about 10 MB per view). */
  chunkSize?: number;
}

/**
 * A CLIP image tower (ResNet or ViT, see image-graphs.ts) on ONNX Runtime: views [V, S, S, 3] NHWC (normalised) → L2-normalised
 * features [V, E], host arrays in and out. The graph is built in memory from the state_dict; its bytes are
 * dropped once the session holds the model.
 */
export class OnnxImageTower {
  private session: OrtSession | undefined;

  private constructor(
    private readonly ort: Ort,
    session: OrtSession,
    /** The providers the session was created with, in order of preference. */
    readonly providers: readonly string[],
    readonly inputResolution: number,
    readonly embedDim: number,
    private readonly chunkSize: number,
  ) {
    this.session = session;
  }

  static async create(stateDict: StateDict, arch: ModelArch, options: OnnxImageTowerOptions): Promise<OnnxImageTower> {
    const ort = await loadOrt();
    const providers = options.providers ?? (await preferredProviders());
    // No reference to the bytes (nor to the folded weights inside the builder) outlives this statement.
    const session = await createSession(buildImageGraph(stateDict, arch), { threads: options.threads, providers });
    return new OnnxImageTower(ort, session, providers, arch.imageResolution, arch.embedDim, Math.max(1, options.chunkSize ?? 16));
  }

  /** views [count, size, size, 3] → L2-normalised image features [count, E]. */
  async encodeImages(views: Float32Array, count: number, size: number): Promise<Float32Array> {
    const session = this.session;
    if (!session) throw new Error('OnnxImageTower used after dispose()');
    const s = this.inputResolution;
    const perView = s * s * 3;
    if (size !== s || views.length !== count * perView) {
      throw new Error(`image tower expects [N, ${s}, ${s}, 3] views, got ${views.length} values for ${count} views of ${size} px`);
    }
    const features = new Float32Array(count * this.embedDim);
    for (let start = 0; start < count; start += this.chunkSize) {
      const n = Math.min(this.chunkSize, count - start);
      // The tensor views the caller's array (no copy); each chunk's activations are released before the next.
      const input = new this.ort.Tensor('float32', views.subarray(start * perView, (start + n) * perView), [n, s, s, 3]);
      const outputs = await session.run({ [IMAGE_INPUT]: input });
      const out = outputs[IMAGE_OUTPUT]!;
      features.set(out.data as Float32Array, start * this.embedDim);
      input.dispose();
      for (const t of Object.values(outputs)) t.dispose();
    }
    return features;
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }
}
