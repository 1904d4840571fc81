import { basename } from 'node:path';
import { backboneOf, isClipParameter } from './arch.js';
import { numel } from './host-tensor.js';
import { describeWeightsSource, loadClipWeights, type ClipWeights } from './load.js';
import { writeWeightsFolder, type WrittenFolder } from './manifest.js';

/** What `tpt convert` did, for its summary. */
export interface ConversionReport {
  weights: ClipWeights;
  folder: WrittenFolder;
  /** Learnable parameters (BatchNorm statistics excluded), the figure OpenAI quotes: 102,007,137 for RN50. */
  parameters: number;
  tensors: number;
}

/** Reads a PyTorch CLIP checkpoint (plus optional CoOp ctx and vocabulary) and writes a weights folder. */
export async function convertClipCheckpoint(opts: { clip: string; coop?: string; bpe?: string; out: string }): Promise<ConversionReport> {
  const weights = await loadClipWeights(opts.clip, {
    ...(opts.coop !== undefined ? { coop: opts.coop } : {}),
    ...(opts.bpe !== undefined ? { bpe: opts.bpe } : {}),
  });
  const folder = await writeWeightsFolder(opts.out, weights);
  let parameters = 0;
  for (const [name, t] of weights.stateDict) if (isClipParameter(name)) parameters += numel(t.shape);
  return { weights, folder, parameters, tensors: weights.stateDict.size };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Human-readable lines describing a conversion. */
export function describeConversion(r: ConversionReport): string[] {
  const a = r.weights.arch;
  const fp16 = [...r.weights.stateDict.values()].filter((t) => t.dtype === 'float16').length;
  const lines = [
    `wrote ${r.folder.dir} (${r.folder.files.length} files, ${megabytes(r.folder.bytes)}) from ${describeWeightsSource(r.weights)}`,
    `  image: ${backboneOf(a).describe(a)}`,
    `  text: width ${a.transformerWidth}, ${a.transformerHeads} heads, ${a.transformerLayers} layers, context ${a.contextLength}, vocab ${a.vocabSize}; embed dim ${a.embedDim}`,
    `  ${r.parameters.toLocaleString('en-US')} parameters in ${r.tensors} tensors (${fp16} stored as fp16)`,
  ];
  if (r.weights.coopCtx) lines.push(`  CoOp ctx [${r.weights.coopCtx.shape.join(', ')}] from ${r.weights.coopSource ?? 'the CoOp file'}`);
  if (r.weights.bpePath) lines.push(`  BPE vocabulary copied from ${basename(r.weights.bpePath)}`);
  return lines;
}
