import { copyFile, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TptError } from '../errors.js';
import { assertClipShapes, type ClipArch } from './arch.js';
import { numel, type HostTensor, type StateDict } from './host-tensor.js';
import type { ClipWeights } from './load.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from './materialize.js';
import { makeFolder } from '../io/make-folder.js';

/**
 * The weights folder: `model.json` in TensorFlow.js's weights-manifest format plus ~4 MB shards
 * (`group1-shardKofN.bin`), with CLIP's architecture and preprocessing beside the manifest so the folder
 * alone is enough to build the model. fp16 sources are stored as float16 "quantized" float32, which tfjs
 * decodes losslessly, so values stay bit-identical to the checkpoint's.
 */

export const MANIFEST_FILE = 'model.json';
export const WEIGHTS_FORMAT = 'tpt-clip-weights';
export const WEIGHTS_FORMAT_VERSION = 1;
export const COOP_CTX_NAME = 'prompt_learner.ctx';
const SHARD_BYTES = 4 * 1024 * 1024;

/** CLIP's image normalisation (openai/CLIP `_transform`). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

type ManifestDtype = 'float32' | 'int32' | 'bool';

export interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: ManifestDtype;
  quantization?: { dtype: 'float16' };
}

export interface WeightsManifestJson {
  format: typeof WEIGHTS_FORMAT;
  formatVersion: number;
  arch: ClipArch;
  preprocess: { mean: number[]; std: number[]; inputResolution: number };
  source: string;
  /** What the source's SHA-256 said at conversion (e.g. "OpenAI, sha256 ok"), when it was one of OpenAI's files. */
  origin?: string;
  coop?: { source: string };
  bpe?: string;
  weightsManifest: { paths: string[]; weights: ManifestWeight[] }[];
}

/** How a tensor is listed in the manifest: fp16 values as float16-quantized float32, integers as int32. */
function manifestSpec(name: string, t: HostTensor): ManifestWeight {
  const shape = [...t.shape];
  if (t.data instanceof Float32Array) {
    return t.dtype === 'float16' ? { name, shape, dtype: 'float32', quantization: { dtype: 'float16' } } : { name, shape, dtype: 'float32' };
  }
  return { name, shape, dtype: t.dtype === 'bool' ? 'bool' : 'int32' };
}

/** A tensor's bytes in its manifest encoding (little-endian, as tfjs reads them). */
function encodeTensor(spec: ManifestWeight, t: HostTensor): Uint8Array {
  const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (t.data instanceof Float32Array) return asBytes(spec.quantization ? float32ToFloat16Bits(t.data) : t.data);
  if (spec.dtype === 'bool') return asBytes(t.data);
  if (t.data instanceof BigInt64Array) return asBytes(Int32Array.from(t.data, (v) => Number(v)));
  return asBytes(t.data instanceof Int32Array ? t.data : Int32Array.from(t.data));
}

/** Bytes of one manifest entry, as `tf.io.decodeWeights` counts them. */
function byteLength(w: ManifestWeight): number {
  const n = numel(w.shape);
  if (w.quantization) return 2 * n;
  return w.dtype === 'bool' ? n : 4 * n;
}

function decodeTensor(w: ManifestWeight, bytes: Uint8Array): HostTensor {
  // a copy into a fresh ArrayBuffer at offset 0, so typed views are aligned (Buffer#slice would not copy)
  const own = new Uint8Array(bytes);
  const shape = [...w.shape];
  if (w.quantization?.dtype === 'float16' && w.dtype === 'float32') {
    return { dtype: 'float16', shape, data: float16BitsToFloat32(new Uint16Array(own.buffer, 0, own.length / 2)) };
  }
  if (w.quantization) {
    throw badManifest(`weight "${w.name}" uses ${w.quantization.dtype} quantization, which tpt does not write`);
  }
  if (w.dtype === 'float32') return { dtype: 'float32', shape, data: new Float32Array(own.buffer, 0, own.length / 4) };
  if (w.dtype === 'int32') return { dtype: 'int32', shape, data: new Int32Array(own.buffer, 0, own.length / 4) };
  if (w.dtype === 'bool') return { dtype: 'bool', shape, data: own };
  throw badManifest(`weight "${w.name}" has dtype ${String(w.dtype)}`);
}

function badManifest(why: string, dir = ''): TptError {
  return new TptError('WEIGHTS_BAD_MANIFEST', `the weights folder${dir ? ` "${dir}"` : ''} is not usable: ${why}`, {
    hint: 'Re-create it with `tpt convert --clip RN50.pt --out <dir>`.',
  });
}

export interface WrittenFolder {
  dir: string;
  files: string[];
  /** Bytes of the shards, model.json and the vocabulary together. */
  bytes: number;
}

/** Writes `w` (and the CoOp ctx and BPE vocabulary it names) as a weights folder. */
export async function writeWeightsFolder(dir: string, w: ClipWeights): Promise<WrittenFolder> {
  await makeFolder(dir);
  // shards of an earlier conversion (another shard count) would linger beside the new manifest
  for (const f of await readdir(dir)) if (/^group\d+-shard\d+of\d+\.bin$/.test(f)) await unlink(join(dir, f));
  const tensors: [string, HostTensor][] = [...w.stateDict];
  if (w.coopCtx) tensors.push([COOP_CTX_NAME, w.coopCtx]);
  const specs = tensors.map(([name, t]) => manifestSpec(name, t));
  const total = specs.reduce((sum, spec) => sum + byteLength(spec), 0);
  const shardCount = Math.max(1, Math.ceil(total / SHARD_BYTES));
  const paths = Array.from({ length: shardCount }, (_, k) => `group1-shard${k + 1}of${shardCount}.bin`);

  // weights may straddle shard boundaries: tfjs concatenates a group's shards before decoding
  let shard = new Uint8Array(Math.min(SHARD_BYTES, total));
  let fill = 0;
  let shardIndex = 0;
  let written = 0;
  const flush = async () => {
    await writeFile(join(dir, paths[shardIndex]!), shard.subarray(0, fill));
    written += fill;
    shardIndex++;
    fill = 0;
    shard = new Uint8Array(Math.min(SHARD_BYTES, total - written));
  };
  for (const [i, [, t]] of tensors.entries()) {
    const bytes = encodeTensor(specs[i]!, t);
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(bytes.length - at, shard.length - fill);
      shard.set(bytes.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === shard.length && written + fill < total) await flush();
    }
  }
  await flush();

  const manifest: WeightsManifestJson = {
    format: WEIGHTS_FORMAT,
    formatVersion: WEIGHTS_FORMAT_VERSION,
    arch: w.arch,
    preprocess: { mean: [...CLIP_MEAN], std: [...CLIP_STD], inputResolution: w.arch.imageResolution },
    source: w.source,
    ...(w.origin !== undefined ? { origin: w.origin } : {}),
    ...(w.coopCtx ? { coop: { source: w.coopSource ?? 'unknown' } } : {}),
    weightsManifest: [{ paths, weights: specs }],
  };
  const files = [...paths];
  let bytes = written;
  if (w.bpePath) {
    const head = (await readFile(w.bpePath)).subarray(0, 2);
    // keep the upstream name; a vocabulary that is not gzip-compressed keeps its plain-text extension
    const target = head[0] === 0x1f && head[1] === 0x8b ? 'bpe_simple_vocab_16e6.txt.gz' : 'bpe_simple_vocab_16e6.txt';
    await copyFile(w.bpePath, join(dir, target));
    manifest.bpe = target;
    files.push(target);
    bytes += (await stat(join(dir, target))).size;
  }
  const json = JSON.stringify(manifest, null, 1) + '\n';
  await writeFile(join(dir, MANIFEST_FILE), json);
  files.unshift(MANIFEST_FILE);
  return { dir, files, bytes: bytes + Buffer.byteLength(json) };
}

async function readShards(dir: string, paths: readonly string[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const p of paths) {
    if (basename(p) !== p) throw badManifest(`shard path "${p}" points outside the folder`, dir);
    try {
      parts.push(await readFile(join(dir, p)));
    } catch (e) {
      throw new TptError('WEIGHTS_BAD_MANIFEST', `the weights folder "${dir}" lacks shard ${p}`, {
        hint: 'Copy the whole folder (model.json and every group*-shard*.bin), or re-create it with `tpt convert`.',
        cause: e,
      });
    }
  }
  return Buffer.concat(parts);
}

/** Reads a folder written by `writeWeightsFolder` (no tfjs backend needed). */
export async function readWeightsFolder(dir: string): Promise<ClipWeights> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new TptError('WEIGHTS_NOT_FOUND', `"${dir}" is a folder without ${MANIFEST_FILE}`, {
      hint: 'Pass a folder written by `tpt convert --clip RN50.pt --out <dir>`, or the checkpoint file itself.',
      cause: e,
    });
  }
  let json: WeightsManifestJson;
  try {
    json = JSON.parse(text) as WeightsManifestJson;
  } catch (e) {
    throw badManifest(`${MANIFEST_FILE} is not valid JSON (${(e as Error).message})`, dir);
  }
  if (json.format !== WEIGHTS_FORMAT) throw badManifest(`${MANIFEST_FILE} is not a tpt CLIP weights manifest (format ${JSON.stringify(json.format)})`, dir);
  if (json.formatVersion !== WEIGHTS_FORMAT_VERSION) {
    throw badManifest(`formatVersion ${json.formatVersion} is not ${WEIGHTS_FORMAT_VERSION} (written by another tpt version)`, dir);
  }
  if (!Array.isArray(json.weightsManifest)) throw badManifest('weightsManifest is missing', dir);

  const stateDict: StateDict = new Map();
  let coopCtx: HostTensor | undefined;
  for (const group of json.weightsManifest) {
    const bytes = await readShards(dir, group.paths);
    let at = 0;
    for (const spec of group.weights) {
      const n = byteLength(spec);
      if (at + n > bytes.length) throw badManifest(`the shards end before weight "${spec.name}"`, dir);
      const t = decodeTensor(spec, bytes.subarray(at, at + n));
      at += n;
      if (spec.name === COOP_CTX_NAME) coopCtx = t;
      else stateDict.set(spec.name, t);
    }
    if (at !== bytes.length) throw badManifest(`the shards hold ${bytes.length - at} bytes beyond the listed weights`, dir);
  }
  // Folders written before ViT support hold ResNet CLIPs and an arch without its visionKind.
  const stored: Partial<ClipArch> = json.arch;
  const arch = (stored.visionKind ? stored : { ...stored, visionKind: 'resnet' }) as ClipArch;
  assertClipShapes(new Map([...stateDict].map(([k, t]) => [k, t.shape])), arch);
  const weights: ClipWeights = { arch, stateDict, source: json.source, ...(typeof json.origin === 'string' ? { origin: json.origin } : {}) };
  if (coopCtx) {
    weights.coopCtx = coopCtx;
    weights.coopSource = json.coop?.source ?? 'unknown';
  }
  if (json.bpe) weights.bpePath = join(dir, json.bpe);
  return weights;
}
