import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import yauzl from 'yauzl';
import { TptError } from '../errors.js';
import { isFloatDtype, type HostTensor, type StateDict } from './host-tensor.js';
import { materializeTensor } from './materialize.js';
import { PickleObject, unpickle } from './pickle.js';
import {
  isScriptModule,
  parseScriptClasses,
  plainStateDict,
  scriptModuleStateDict,
  type ScriptClassInfo,
} from './state-dict.js';
import { resolveTorchGlobal, StorageType, TensorRef, type StorageRef } from './torch-globals.js';

/**
 * Reader for PyTorch's zip checkpoint format (torch.save since 1.6, and torch.jit.save archives):
 * `<prefix>/data.pkl` (protocol-2 pickle) plus one raw little-endian entry per storage, `<prefix>/data/<key>`.
 * Entries are read by random access (yauzl), so a 250 MB RN50.pt never passes through a stream parser whole.
 */
export interface TorchFile {
  kind: 'torchscript' | 'pickle';
  /** The archive's top folder (the saved file's stem at save time), taken from its first entry. */
  prefix: string;
  /** The unpickled object, every tensor replaced by a HostTensor. */
  root: unknown;
  stateDict: StateDict;
}

// torch.save's pre-1.6 format starts with the pickled magic number 0x1950a86a20f9469cfc6c
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** What the first bytes of a file that is not a zip suggest it is, for the error message. */
/** How many leading bytes `sniff` looks at (a Git LFS pointer's oid and size lines fit). */
const SNIFF_BYTES = 256;

/** What a failed download saved under a checkpoint's name often is, from its first bytes; else undefined. */
function sniffFailedDownload(head: Uint8Array): string | undefined {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('version https://git-lfs.github.com/spec/')) {
    const size = /^size (\d+)$/m.exec(text)?.[1];
    return (
      `it is a Git LFS pointer${size === undefined ? '' : ` to a ${Number(size).toLocaleString('en-US')}-byte file`}, not the file itself ` +
      '(the repository was cloned or downloaded without `git lfs pull`)'
    );
  }
  if (/^(<!doctype html|<html|<head|<\?xml[^>]*>\s*<html)/i.test(text)) {
    return 'it is an HTML page (a failed download saved under this name: an error, login or redirect page)';
  }
  if (/^<\?xml[^>]*>\s*<Error>/i.test(text) || text.startsWith('<Error>')) {
    return "it is a storage service's XML error page (a failed download saved under this name)";
  }
  return undefined;
}

function sniff(head: Uint8Array): string {
  const starts = (...b: number[]) => b.every((x, i) => head[i] === x);
  if (head.length === 0) return 'it is empty';
  const download = sniffFailedDownload(head);
  if (download !== undefined) return download;
  if (starts(0xff, 0xd8, 0xff)) return 'it looks like a JPEG image';
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'it looks like a PNG image';
  if (starts(0x1f, 0x8b)) return 'it is gzip-compressed (a .tar.gz or .txt.gz?)';
  if (starts(0x80)) return 'it is a plain Python pickle, not a torch.save file';
  if (starts(0x7b) || starts(0x5b)) return 'it looks like JSON text';
  if (starts(0x50, 0x4b)) return 'it is a zip archive of an unsupported kind (spanned or empty)';
  return `it starts with bytes ${[...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
}

async function readHead(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Fails with a TptError unless `path` is an existing regular file. */
export async function assertReadableFile(path: string, what: string): Promise<number> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) {
      throw new TptError('WEIGHTS_NOT_FILE', `${what} "${path}" is not a file`, {
        hint: 'Pass the checkpoint file itself (e.g. RN50.pt), not a folder.',
      });
    }
    size = s.size;
  } catch (e) {
    if (e instanceof TptError) throw e;
    throw new TptError('WEIGHTS_NOT_FOUND', `${what} "${path}" does not exist or cannot be read`, {
      hint: 'Check the path (relative paths start from the current directory).',
      cause: e,
    });
  }
  return size;
}

function truncated(path: string, detail: string, cause?: unknown): TptError {
  return new TptError('WEIGHTS_TRUNCATED', `"${basename(path)}" is truncated or damaged: ${detail}`, {
    hint: 'The download or copy was probably interrupted; fetch the file again and compare its size with the source.',
    cause,
  });
}

/**
 * One entry's bytes in a fresh ArrayBuffer at offset 0 (so typed views over it are aligned). PyTorch stores
 * entries uncompressed: those are read with one positioned read straight from the file, which is several
 * times faster than yauzl's 64 KB stream chunks on a 250 MB checkpoint; anything else goes through yauzl.
 */
async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, path: string, fh: FileHandle): Promise<Uint8Array> {
  const out = new Uint8Array(entry.uncompressedSize);
  let at = 0;
  try {
    if (entry.compressionMethod === 0 && !entry.isEncrypted()) {
      const header = await new Promise<{ fileDataStart: number }>((resolve, reject) =>
        zip.readLocalFileHeader(entry, { minimal: true }, (err, h) => (err ? reject(err) : resolve(h))),
      );
      while (at < out.length) {
        const { bytesRead } = await fh.read(out, at, Math.min(out.length - at, 1 << 28), header.fileDataStart + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
    } else {
      const stream = await zip.openReadStreamPromise(entry);
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (at + chunk.length > out.length) throw new Error('entry is longer than its directory record says');
        out.set(chunk, at);
        at += chunk.length;
      }
    }
  } catch (e) {
    throw truncated(path, `entry ${entry.fileName} cannot be read (${(e as Error).message})`, e);
  }
  if (at !== out.length) throw truncated(path, `entry ${entry.fileName} is short (${at} of ${out.length} bytes)`);
  return out;
}

async function listEntries(zip: yauzl.ZipFile, path: string): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (e: yauzl.Entry) => {
      entries.push(e);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', (e: Error) => reject(truncated(path, `its zip directory is unreadable (${e.message})`, e)));
    zip.readEntry();
  });
}

/** Replaces every TensorRef in the unpickled tree (dict values, list items, object attributes) in place. */
function replaceTensors(root: unknown, materialize: (ref: TensorRef) => HostTensor): unknown {
  const seen = new Set<object>();
  const fix = (v: unknown): unknown => {
    if (v instanceof TensorRef) return materialize(v);
    if (typeof v !== 'object' || v === null || seen.has(v)) return v;
    seen.add(v);
    if (v instanceof Map) for (const [k, x] of v) v.set(k, fix(x));
    else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) v[i] = fix(v[i]);
    else if (v instanceof PickleObject) {
      for (const [k, x] of v.attributes) v.attributes.set(k, fix(x));
      v.state = fix(v.state);
    }
    return v;
  };
  return fix(root);
}

function collectTensorRefs(root: unknown): TensorRef[] {
  const out: TensorRef[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (v instanceof TensorRef) {
      out.push(v);
      return;
    }
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Map) for (const x of v.values()) walk(x);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v instanceof PickleObject) {
      for (const x of v.attributes.values()) walk(x);
      walk(v.state);
    }
  };
  walk(root);
  return out;
}

/** The tree walks recurse; a crafted pickle nested thousands deep must fail as a bad file, not as a crash. */
function guardDepth<T>(walk: () => T, source: string): T {
  try {
    return walk();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new TptError('PICKLE_CORRUPT', `${source}: the pickled data is nested too deeply to be a checkpoint`, {
      hint: 'Pass a file written by torch.save(state_dict) or torch.jit.save.',
      cause: e,
    });
  }
}

export async function readTorchFile(path: string): Promise<TorchFile> {
  await assertReadableFile(path, 'checkpoint');
  const name = basename(path);
  const head = await readHead(path, SNIFF_BYTES);
  if (LEGACY_MAGIC.every((b, i) => head[i] === b)) {
    throw new TptError('WEIGHTS_LEGACY_FORMAT', `"${name}" uses PyTorch's legacy (pre-1.6) serialization format`, {
      hint: 'Re-save it with torch>=1.6: `obj = torch.load(path); torch.save(obj, path)` (the zip format is the default since 1.6).',
    });
  }
  if (!(head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)) {
    const failedDownload = sniffFailedDownload(head) !== undefined;
    throw new TptError('WEIGHTS_NOT_CHECKPOINT', `"${name}" is not a PyTorch checkpoint: ${sniff(head)}`, {
      hint: failedDownload
        ? 'Download the file again, from a URL that serves the file itself (where OpenAI\'s and CoOp\'s files come from: weights/README.md).'
        : 'Pass a file written by torch.save or torch.jit.save (e.g. RN50.pt, model.pth.tar-50).',
    });
  }

  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, strictFileNames: false });
  } catch (e) {
    throw truncated(path, `its zip directory is missing (${(e as Error).message})`, e);
  }
  const fh = await open(path, 'r');
  try {
    const entries = await listEntries(zip, path);
    const first = entries[0]?.fileName ?? '';
    const slash = first.indexOf('/');
    const prefix = slash > 0 ? first.slice(0, slash) : '';
    const byName = new Map(entries.map((e) => [e.fileName, e]));
    const pickleEntry = byName.get(`${prefix}/data.pkl`);
    if (!prefix || !pickleEntry) {
      throw new TptError('WEIGHTS_NOT_TORCH_ZIP', `"${name}" is a zip archive but not a PyTorch file (no <prefix>/data.pkl)`, {
        hint: 'Pass a file written by torch.save (PyTorch ≥ 1.6) or torch.jit.save; unpack other archives first.',
      });
    }
    const byteorder = byName.get(`${prefix}/byteorder`);
    if (byteorder) {
      const order = new TextDecoder().decode(await readEntry(zip, byteorder, path, fh)).trim();
      if (order !== 'little') {
        throw new TptError('WEIGHTS_BYTEORDER', `"${name}" stores ${order}-endian tensors`, {
          hint: 'Re-save it on a little-endian machine (any x86/ARM computer): `torch.save(torch.load(path), path)`.',
        });
      }
    }

    const storages = new Map<string, StorageRef>();
    const source = `${name}:${prefix}/data.pkl`;
    const root = unpickle(await readEntry(zip, pickleEntry, path, fh), {
      source,
      resolveGlobal: (module, global) => resolveTorchGlobal(module, global, name),
      persistentLoad: (pid) => {
        // ('storage', storage_type, key, location, numel) — TorchScript's pickler appends a sixth None
        if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof StorageType)) {
          throw new TptError('PICKLE_CORRUPT', `${source}: unknown persistent id ${JSON.stringify(String(pid))}`, {
            hint: 'The file is not a torch.save/torch.jit.save checkpoint tpt understands; re-save it with torch.save.',
          });
        }
        const key = String(pid[2]);
        let ref = storages.get(key);
        if (!ref) {
          ref = { key, type: pid[1], numel: Number(pid[4]) };
          storages.set(key, ref);
        }
        return ref;
      },
    });

    // one storage at a time: its bytes are dropped as soon as the tensors viewing it are materialised
    const refsByKey = new Map<string, TensorRef[]>();
    for (const ref of guardDepth(() => collectTensorRefs(root), source)) {
      const list = refsByKey.get(ref.storage.key);
      if (list) list.push(ref);
      else refsByKey.set(ref.storage.key, [ref]);
    }
    const done = new Map<TensorRef, HostTensor>();
    for (const [key, refs] of refsByKey) {
      const entry = byName.get(`${prefix}/data/${key}`);
      if (!entry) throw truncated(path, `storage entry ${prefix}/data/${key} is missing`);
      const bytes = await readEntry(zip, entry, path, fh);
      for (const ref of refs) if (!done.has(ref)) done.set(ref, materializeTensor(ref, bytes, name));
    }
    guardDepth(() => replaceTensors(root, (ref) => done.get(ref)!), source);

    const hasCode = entries.some((e) => e.fileName.startsWith(`${prefix}/code/`));
    if (isScriptModule(root) || hasCode) {
      const classes = new Map<string, ScriptClassInfo>();
      for (const e of entries) {
        const m = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/code/(.+)\\.py$`).exec(e.fileName);
        if (!m) continue;
        const text = new TextDecoder().decode(await readEntry(zip, e, path, fh));
        parseScriptClasses(m[1]!.replaceAll('/', '.'), text, classes);
      }
      const stateDict = root instanceof PickleObject ? scriptModuleStateDict(root, classes) : plainStateDict(root);
      return { kind: 'torchscript', prefix, root, stateDict };
    }
    return { kind: 'pickle', prefix, root, stateDict: plainStateDict(root) };
  } finally {
    zip.close();
    await fh.close();
  }
}

/**
 * CoOp's learned context: `state_dict['ctx']` of a Dassl checkpoint (model.pth.tar-50), shaped [n_ctx, width]
 * or, for class-specific contexts, [n_cls, n_ctx, width].
 */
export async function readCoopContext(path: string): Promise<HostTensor> {
  const file = await readTorchFile(path);
  const ctx = file.stateDict.get('ctx');
  const name = basename(path);
  if (!ctx) {
    const keys = [...file.stateDict.keys()].slice(0, 8).join(', ');
    throw new TptError('COOP_NO_CTX', `"${name}" has no state_dict['ctx'] (its tensors: ${keys || 'none'})`, {
      hint: "Pass CoOp's prompt-learner checkpoint, e.g. output/.../prompt_learner/model.pth.tar-50.",
    });
  }
  if (!isFloatDtype(ctx.dtype) || (ctx.shape.length !== 2 && ctx.shape.length !== 3)) {
    throw new TptError('COOP_BAD_CTX', `"${name}": ctx is ${ctx.dtype} [${ctx.shape.join(', ')}], expected a float [n_ctx, width] or [n_cls, n_ctx, width]`, {
      hint: "Pass CoOp's prompt-learner checkpoint (model.pth.tar-N).",
    });
  }
  return ctx;
}
