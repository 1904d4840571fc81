import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { TptError } from '../errors.js';
import { DROPPED_SCALAR_BUFFERS, inferClipArch, type ClipArch } from './arch.js';
import type { HostTensor, StateDict } from './host-tensor.js';
import { MANIFEST_FILE, readWeightsFolder } from './manifest.js';
import { checkOpenAiChecksum } from './openai-checksums.js';
import { assertReadableFile, readCoopContext, readTorchFile } from './torch-file.js';

export { readCoopContext };

/** CLIP weights ready for the model: what `tpt convert` writes and every weights-taking command reads. */
export interface ClipWeights {
  arch: ClipArch;
  /**
   * PyTorch names and layouts. Floating tensors hold float32 data; `dtype` stays 'float16' where the source
   * stored fp16 (the values are exactly representable, which lets the folder keep them as fp16).
   * BatchNorm's `num_batches_tracked` counters are int32.
   */
  stateDict: StateDict;
  /** CoOp's learned context, [n_ctx, width] or [n_cls, n_ctx, width]. */
  coopCtx?: HostTensor;
  /** Where coopCtx came from (a file name), recorded in the manifest. */
  coopSource?: string;
  /** A BPE vocabulary file next to the weights, if any. */
  bpePath?: string;
  /** The original checkpoint's file name. */
  source: string;
  /** The checkpoint's SHA-256 against OpenAI's (`OpenAI, sha256 ok`); absent for other files. */
  origin?: string;
}

/** The file name and, where known, what its hash says: `RN50.pt (OpenAI, sha256 ok)`. */
export function describeWeightsSource(w: Pick<ClipWeights, 'source' | 'origin'>): string {
  return w.origin === undefined ? w.source : `${w.source} (${w.origin})`;
}

/**
 * Normalises a checkpoint's state_dict for CLIP: drops the JIT scalar buffers (as build_model does), keeps
 * float16/float32 (float64 and bfloat16 become float32), stores integer counters as int32, and infers and
 * checks the architecture.
 */
export function clipWeightsFromStateDict(raw: StateDict, source: string): ClipWeights {
  const stateDict: StateDict = new Map();
  for (const [name, t] of raw) {
    if ((DROPPED_SCALAR_BUFFERS as readonly string[]).includes(name)) continue;
    // ResidualAttentionBlock's causal mask: a plain attribute, no state, read as a buffer from archives of
    // older torch that do not list buffers (state-dict.ts)
    if (name.endsWith('.attn_mask')) continue;
    if (t.dtype === 'float64' || t.dtype === 'bfloat16') {
      stateDict.set(name, { dtype: 'float32', shape: t.shape, data: t.data });
    } else if (t.data instanceof BigInt64Array) {
      const small = Int32Array.from(t.data, (v) => {
        if (v > 2147483647n || v < -2147483648n) {
          throw new TptError('WEIGHTS_NOT_CLIP', `${source}: integer tensor "${name}" holds ${v}, beyond int32`, {
            hint: 'Pass an OpenAI CLIP checkpoint; its only integer tensors are small counters.',
          });
        }
        return Number(v);
      });
      stateDict.set(name, { dtype: 'int32', shape: t.shape, data: small });
    } else {
      stateDict.set(name, t);
    }
  }
  let arch: ClipArch;
  try {
    arch = inferClipArch(new Map([...stateDict].map(([k, t]) => [k, t.shape])));
  } catch (e) {
    // name the file: the user may have passed several
    if (e instanceof TptError) throw new TptError(e.code, `"${source}": ${e.message}`, { hint: e.hint ?? '', cause: e });
    throw e;
  }
  return { arch, stateDict, source };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    throw new TptError('WEIGHTS_NOT_FOUND', `weights "${path}" do not exist`, {
      hint: 'Check the path, or convert the checkpoint first: `tpt convert --clip RN50.pt --out weights/rn50`.',
    });
  }
}

/**
 * Loads CLIP from a folder written by `tpt convert` (or its model.json) or straight from a PyTorch file
 * (OpenAI's TorchScript RN50.pt / ViT-B-16.pt or a torch.save'd state_dict, converted in memory). `coop` adds
 * or replaces the CoOp context; `bpe` names the vocabulary to use.
 */
export interface LoadClipOptions {
  coop?: string;
  bpe?: string;
  /** Told (one line) when a file named like one of OpenAI's has another hash; default: printed on stderr. */
  onWarning?: (message: string) => void;
}

export async function loadClipWeights(pathOrDir: string, opts: LoadClipOptions = {}): Promise<ClipWeights> {
  let weights: ClipWeights;
  if (await isDirectory(pathOrDir)) {
    weights = await readWeightsFolder(pathOrDir);
  } else if (basename(pathOrDir) === MANIFEST_FILE) {
    weights = await readWeightsFolder(dirname(pathOrDir));
  } else {
    const file = await readTorchFile(pathOrDir);
    if (file.stateDict.size === 0) {
      throw new TptError('WEIGHTS_NOT_CLIP', `"${basename(pathOrDir)}" holds no tensors under names a state_dict would use`, {
        hint: 'Pass RN50.pt, a torch.save(model.state_dict()) file, or a folder written by `tpt convert`.',
      });
    }
    weights = clipWeightsFromStateDict(file.stateDict, basename(pathOrDir));
    // After the read: a file that is no checkpoint at all gets that error, not a hash mismatch.
    const checksum = await checkOpenAiChecksum(pathOrDir);
    if (checksum.origin !== undefined) weights.origin = checksum.origin;
    if (checksum.warning !== undefined) (opts.onWarning ?? ((m) => process.stderr.write(`[tpt] warning: ${m}\n`)))(checksum.warning);
  }
  if (opts.coop !== undefined) {
    weights.coopCtx = await readCoopContext(opts.coop);
    weights.coopSource = basename(opts.coop);
    checkCoopWidth(weights);
  }
  if (opts.bpe !== undefined) {
    await assertReadableFile(opts.bpe, 'BPE vocabulary');
    weights.bpePath = opts.bpe;
  }
  return weights;
}

/** The context vectors replace token embeddings, so their width must be the text transformer's. */
export function checkCoopWidth(w: ClipWeights): void {
  const width = w.coopCtx?.shape[w.coopCtx.shape.length - 1];
  if (w.coopCtx && width !== w.arch.transformerWidth) {
    throw new TptError('COOP_MISMATCH', `the CoOp ctx has width ${width}, but this CLIP's text transformer has width ${w.arch.transformerWidth}`, {
      hint: 'Use the CoOp checkpoint trained for this CLIP backbone (RN50 and ViT-B/16 CoOp contexts are 512 wide).',
    });
  }
}
