/**
 * A small CLIP (ModifiedResNet or VisionTransformer image tower + causal text transformer) with seeded random
 * weights, as a PyTorch-style state_dict: OpenAI's parameter names, PyTorch layouts ([out, in(, kh, kw)] for
 * conv and linear weights) and exactly the shapes `clip.model.build_model` infers its architecture from. The
 * text side keeps the full 49,408-token vocabulary and 77-token context, so the real tokenizer and prompts work.
 *
 * Initial values follow CLIP's `initialize_parameters` scales (normal std 0.02 token embedding, 0.01
 * positional, width^-0.5 attention, (2·width)^-0.5 MLP, PyTorch's default fan-in uniform for convolutions),
 * except that each bottleneck's last BatchNorm is not zero-initialised (that would make every residual block
 * the identity) and BatchNorm running statistics are given plausible non-trivial values, as a trained
 * network's would be. The point is a model whose logits are finite and vary between images, not one that
 * classifies anything.
 */
import type { HostTensor, StateDict } from '../weights/host-tensor.js';
import { numel } from '../weights/host-tensor.js';
import { Rng } from '../data/rng.js';

interface DemoTextSize {
  inputResolution: number;
  embedDim: number;
  contextLength: number;
  vocabSize: number;
  transformerWidth: number;
  transformerLayers: number;
  /** CoOp context tokens (ctx is [nCtx, transformerWidth]). */
  nCtx: number;
}

export interface DemoResNetSize extends DemoTextSize {
  /** Bottleneck blocks per stage of the ModifiedResNet. */
  visionLayers: readonly [number, number, number, number];
  /** Stem/first-stage width; the attention pool's width is 32× this. */
  visionWidth: number;
}

export interface DemoViTSize extends DemoTextSize {
  /** Residual attention blocks of the VisionTransformer (a number, as build_model's vision_layers for a ViT). */
  visionLayers: number;
  /** A multiple of 64 (heads = width // 64). */
  visionWidth: number;
  visionPatchSize: number;
}

/** A ResNet or a ViT CLIP, told apart as build_model does: a ViT's vision_layers is one number. */
export type DemoClipSize = DemoResNetSize | DemoViTSize;

function isViTSize(size: DemoClipSize): size is DemoViTSize {
  return typeof size.visionLayers === 'number';
}

export const DEMO_CLIP_SIZE: DemoResNetSize = Object.freeze({
  visionLayers: [1, 1, 1, 1] as const,
  visionWidth: 16,
  inputResolution: 64,
  embedDim: 64,
  contextLength: 77,
  vocabSize: 49408,
  transformerWidth: 64,
  transformerLayers: 2,
  nCtx: 4,
});

/** Fills tensors in a fixed order from one stream, so the whole dict is a function of the seed. */
class SeededInit {
  constructor(private readonly rng: Rng) {}

  tensor(shape: number[], fill: (rng: Rng) => number): HostTensor {
    const data = new Float32Array(numel(shape));
    for (let i = 0; i < data.length; i++) data[i] = fill(this.rng);
    return { dtype: 'float32', shape, data };
  }

  normal(shape: number[], std: number, mean = 0): HostTensor {
    return this.tensor(shape, (r) => mean + std * r.normal());
  }

  uniform(shape: number[], bound: number): HostTensor {
    return this.tensor(shape, (r) => r.uniform(-bound, bound));
  }

  constant(shape: number[], value: number): HostTensor {
    return { dtype: 'float32', shape, data: new Float32Array(numel(shape)).fill(value) };
  }
}

function addConv(sd: StateDict, init: SeededInit, name: string, out: number, inp: number, k: number): void {
  // PyTorch's default Conv2d init: kaiming_uniform(a=√5) = U(±1/√fan_in)
  sd.set(`${name}.weight`, init.uniform([out, inp, k, k], 1 / Math.sqrt(inp * k * k)));
}

function addBatchNorm(sd: StateDict, init: SeededInit, name: string, channels: number): void {
  sd.set(`${name}.weight`, init.tensor([channels], (r) => r.uniform(0.6, 1.4)));
  sd.set(`${name}.bias`, init.normal([channels], 0.05));
  sd.set(`${name}.running_mean`, init.normal([channels], 0.1));
  // the uniform fan-in init roughly thirds the variance per convolution; running_var says so
  sd.set(`${name}.running_var`, init.tensor([channels], (r) => r.uniform(0.2, 0.5)));
  sd.set(`${name}.num_batches_tracked`, { dtype: 'int64', shape: [], data: new BigInt64Array([1000n]) });
}

function addLinear(sd: StateDict, init: SeededInit, name: string, out: number, inp: number, std: number): void {
  sd.set(`${name}.weight`, init.normal([out, inp], std));
  sd.set(`${name}.bias`, init.constant([out], 0));
}

function addLayerNorm(sd: StateDict, init: SeededInit, name: string, width: number): void {
  sd.set(`${name}.weight`, init.constant([width], 1));
  sd.set(`${name}.bias`, init.constant([width], 0));
}

function addResNetVisual(sd: StateDict, init: SeededInit, size: DemoResNetSize): void {
  const width = size.visionWidth;
  // stem: three 3×3 convolutions (3 → w/2 → w/2 → w)
  addConv(sd, init, 'visual.conv1', width / 2, 3, 3);
  addBatchNorm(sd, init, 'visual.bn1', width / 2);
  addConv(sd, init, 'visual.conv2', width / 2, width / 2, 3);
  addBatchNorm(sd, init, 'visual.bn2', width / 2);
  addConv(sd, init, 'visual.conv3', width, width / 2, 3);
  addBatchNorm(sd, init, 'visual.bn3', width);

  let inplanes = width;
  size.visionLayers.forEach((blocks, stage) => {
    const planes = width * 2 ** stage;
    const stride = stage === 0 ? 1 : 2;
    for (let b = 0; b < blocks; b++) {
      const name = `visual.layer${stage + 1}.${b}`;
      addConv(sd, init, `${name}.conv1`, planes, inplanes, 1);
      addBatchNorm(sd, init, `${name}.bn1`, planes);
      addConv(sd, init, `${name}.conv2`, planes, planes, 3);
      addBatchNorm(sd, init, `${name}.bn2`, planes);
      addConv(sd, init, `${name}.conv3`, planes * 4, planes, 1);
      addBatchNorm(sd, init, `${name}.bn3`, planes * 4);
      const blockStride = b === 0 ? stride : 1;
      if (blockStride > 1 || inplanes !== planes * 4) {
        // OpenAI's downsample is Sequential("-1": AvgPool2d, "0": conv, "1": BN); the pool has no parameters
        addConv(sd, init, `${name}.downsample.0`, planes * 4, inplanes, 1);
        addBatchNorm(sd, init, `${name}.downsample.1`, planes * 4);
      }
      inplanes = planes * 4;
    }
  });

  const poolWidth = width * 32;
  const grid = size.inputResolution / 32;
  sd.set('visual.attnpool.positional_embedding', init.normal([grid * grid + 1, poolWidth], 1 / Math.sqrt(poolWidth)));
  const std = 1 / Math.sqrt(poolWidth);
  addLinear(sd, init, 'visual.attnpool.k_proj', poolWidth, poolWidth, std);
  addLinear(sd, init, 'visual.attnpool.q_proj', poolWidth, poolWidth, std);
  addLinear(sd, init, 'visual.attnpool.v_proj', poolWidth, poolWidth, std);
  addLinear(sd, init, 'visual.attnpool.c_proj', size.embedDim, poolWidth, std);
}

/**
 * OpenAI's VisionTransformer: conv1 patches (PyTorch's default conv init), class and positional embeddings and
 * proj at width^-0.5 (as VisionTransformer draws them), and blocks at the text transformer's scales.
 */
function addViTVisual(sd: StateDict, init: SeededInit, size: DemoViTSize): void {
  const w = size.visionWidth;
  const p = size.visionPatchSize;
  const grid = Math.floor(size.inputResolution / p);
  sd.set('visual.class_embedding', init.normal([w], w ** -0.5));
  sd.set('visual.positional_embedding', init.normal([grid * grid + 1, w], w ** -0.5));
  sd.set('visual.proj', init.normal([w, size.embedDim], w ** -0.5));
  addConv(sd, init, 'visual.conv1', w, 3, p);
  addLayerNorm(sd, init, 'visual.ln_pre', w);
  for (let l = 0; l < size.visionLayers; l++) addResidualBlock(sd, init, `visual.transformer.resblocks.${l}`, w, size.visionLayers);
  addLayerNorm(sd, init, 'visual.ln_post', w);
}

function addVisual(sd: StateDict, init: SeededInit, size: DemoClipSize): void {
  if (isViTSize(size)) addViTVisual(sd, init, size);
  else addResNetVisual(sd, init, size);
}

/** One pre-LN residual attention block of width w in a transformer of `layers` blocks (CLIP's init scales). */
function addResidualBlock(sd: StateDict, init: SeededInit, name: string, w: number, layers: number): void {
  const attnStd = w ** -0.5;
  const projStd = w ** -0.5 * (2 * layers) ** -0.5;
  const fcStd = (2 * w) ** -0.5;
  sd.set(`${name}.attn.in_proj_weight`, init.normal([3 * w, w], attnStd)); // q, k, v stacked on dim 0
  sd.set(`${name}.attn.in_proj_bias`, init.constant([3 * w], 0));
  addLinear(sd, init, `${name}.attn.out_proj`, w, w, projStd);
  addLayerNorm(sd, init, `${name}.ln_1`, w);
  addLinear(sd, init, `${name}.mlp.c_fc`, 4 * w, w, fcStd);
  addLinear(sd, init, `${name}.mlp.c_proj`, w, 4 * w, projStd);
  addLayerNorm(sd, init, `${name}.ln_2`, w);
}

function addText(sd: StateDict, init: SeededInit, size: DemoClipSize): void {
  const w = size.transformerWidth;
  sd.set('positional_embedding', init.normal([size.contextLength, w], 0.01));
  sd.set('token_embedding.weight', init.normal([size.vocabSize, w], 0.02));
  for (let l = 0; l < size.transformerLayers; l++) addResidualBlock(sd, init, `transformer.resblocks.${l}`, w, size.transformerLayers);
  addLayerNorm(sd, init, 'ln_final', w);
  sd.set('text_projection', init.normal([w, size.embedDim], w ** -0.5));
  sd.set('logit_scale', init.constant([], Math.log(1 / 0.07)));
}

export interface DemoClip {
  stateDict: StateDict;
  /** CoOp-style learned context, [nCtx, transformerWidth], drawn as CoOp initialises it (normal, std 0.02). */
  coopCtx: HostTensor;
}

/** Builds the demo CLIP's state_dict and a random CoOp context; the same seed gives the same numbers. */
export function buildDemoClip(seed: number, size: DemoClipSize = DEMO_CLIP_SIZE): DemoClip {
  const init = new SeededInit(Rng.forSample(seed, 'demo-clip'));
  const stateDict: StateDict = new Map();
  // Loaders look tensors up by name; the fixed insertion order only keeps the written files byte-identical.
  addVisual(stateDict, init, size);
  addText(stateDict, init, size);
  const ctxInit = new SeededInit(Rng.forSample(seed, 'demo-coop-ctx'));
  const coopCtx = ctxInit.normal([size.nCtx, size.transformerWidth], 0.02);
  return { stateDict, coopCtx };
}
