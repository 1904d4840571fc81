import { TptError } from '../errors.js';
import type { HostDtype } from './host-tensor.js';
import { PickleCallable, PickleClass } from './pickle.js';

/**
 * The allowlist of Python globals a PyTorch checkpoint may name, each mapped to a pure data builder.
 * Nothing here runs checkpoint code: tensors become `TensorRef`s (materialised later from the zip's
 * storages), classes become inert `PickleObject`s recording their name and attributes.
 */

/** `torch.HalfStorage` & co.: the element type of a storage named by a persistent id. */
export class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: HostDtype,
    readonly itemSize: number,
  ) {}
}

/** A torch dtype object (`torch.float16`), kept as its name. */
export class TorchDtype {
  constructor(readonly name: string) {}
}

/** One storage of the archive: `<prefix>/data/<key>`, `numel` elements of `type`. */
export interface StorageRef {
  key: string;
  type: StorageType;
  numel: number;
}

/** A tensor as the pickle describes it: a strided view of a storage, not yet read from disk. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

const STORAGE_TYPES: Record<string, StorageType> = Object.fromEntries(
  (
    [
      ['HalfStorage', 'float16', 2],
      ['BFloat16Storage', 'bfloat16', 2],
      ['FloatStorage', 'float32', 4],
      ['DoubleStorage', 'float64', 8],
      ['LongStorage', 'int64', 8],
      ['IntStorage', 'int32', 4],
      ['ShortStorage', 'int16', 2],
      ['ByteStorage', 'uint8', 1],
      ['CharStorage', 'int8', 1],
      ['BoolStorage', 'bool', 1],
    ] as const
  ).map(([name, dtype, size]) => [name, new StorageType(`torch.${name}`, dtype, size)]),
);

const TORCH_DTYPES = new Set([
  'float16', 'half', 'bfloat16', 'float32', 'float', 'float64', 'double',
  'int64', 'long', 'int32', 'int', 'int16', 'short', 'uint8', 'int8', 'bool',
]);

function asInt(v: unknown, what: string, source: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new TptError('PICKLE_CORRUPT', `${source}: ${what} is ${String(v)}, not an integer`, {
    hint: 'The checkpoint is damaged or uses a tensor layout tpt does not know; re-save it with torch.save.',
  });
}

function asIntList(v: unknown, what: string, source: string): number[] {
  if (!Array.isArray(v)) return [asInt(v, what, source)];
  return v.map((x) => asInt(x, what, source));
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
function rebuildTensor(args: unknown[], source: string): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage && typeof storage === 'object' && 'type' in storage && (storage as StorageRef).type instanceof StorageType)) {
    throw new TptError('PICKLE_CORRUPT', `${source}: a tensor's storage is not a torch storage`, {
      hint: 'The checkpoint is damaged or uses a tensor kind tpt does not read (sparse, quantized); re-save dense tensors.',
    });
  }
  const shape = asIntList(size, 'a tensor size', source);
  const strides = asIntList(stride, 'a tensor stride', source);
  if (strides.length !== shape.length) {
    throw new TptError('PICKLE_CORRUPT', `${source}: a tensor has ${shape.length} sizes but ${strides.length} strides`, {
      hint: 'The checkpoint is damaged; re-download or re-save it.',
    });
  }
  return new TensorRef(storage as StorageRef, asInt(offset, 'a storage offset', source), shape, strides);
}

function pairsToMap(args: unknown[]): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  const init = args[0];
  if (init instanceof Map) for (const [k, v] of init) m.set(k, v);
  else if (Array.isArray(init)) for (const kv of init) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
  return m;
}

const identityOfFirst = (name: string) => new PickleCallable(name, (args) => args[0]);

/**
 * Resolves `module.name` to its inert stand-in, or undefined (refused). `source` names the file in errors.
 * Besides tensors this admits the classes a training checkpoint commonly pickles by value: TorchScript
 * modules (`__torch__.*`) and torch.optim optimizers/schedulers (CoOp/Dassl files keep a scheduler object);
 * they become attribute records, never instances.
 */
export function resolveTorchGlobal(module: string, name: string, source: string): unknown {
  const full = `${module}.${name}`;
  if (module === 'torch') {
    const storage = STORAGE_TYPES[name];
    if (storage) return storage;
    if (TORCH_DTYPES.has(name)) return new TorchDtype(full);
    if (name === 'Size') return new PickleCallable(full, (args) => (Array.isArray(args[0]) ? [...(args[0] as unknown[])] : []));
    return undefined;
  }
  if (module === 'torch._utils') {
    if (name === '_rebuild_tensor_v2') return new PickleCallable(full, (args) => rebuildTensor(args, source));
    // a Parameter is its tensor here: requires_grad and hooks only matter to autograd
    if (name === '_rebuild_parameter' || name === '_rebuild_parameter_with_state') return identityOfFirst(full);
    return undefined;
  }
  if (module === 'collections') {
    if (name === 'OrderedDict') return new PickleCallable(full, pairsToMap);
    // defaultdict(factory): the factory only matters for missing keys, which reading never asks for
    if (name === 'defaultdict') return new PickleCallable(full, () => new Map());
    return undefined;
  }
  if (module === 'builtins' || module === '__builtin__') {
    if (name === 'dict') return new PickleCallable(full, pairsToMap);
    if (name === 'list' || name === 'tuple') return new PickleCallable(full, (args) => (Array.isArray(args[0]) ? [...args[0]] : []));
    if (name === 'set' || name === 'frozenset') return new PickleCallable(full, (args) => new Set(Array.isArray(args[0]) ? args[0] : []));
    return undefined;
  }
  if (full === '_codecs.encode') {
    // protocol 2 writes Python 3 bytes as _codecs.encode(latin-1 text, 'latin1')
    return new PickleCallable(full, (args) => {
      const [text, encoding] = args;
      if (typeof text !== 'string' || !['latin1', 'latin-1', 'iso-8859-1'].includes(String(encoding).toLowerCase())) {
        throw new TptError('PICKLE_CORRUPT', `${source}: unexpected _codecs.encode(${typeof text}, ${String(encoding)})`, {
          hint: 'The checkpoint holds bytes in an unusual encoding; re-save it with a current torch.',
        });
      }
      return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
    });
  }
  if (module === 'torch.jit._pickle') {
    // TorchScript's typed containers and type tags wrap plain lists/values
    if (['build_intlist', 'build_doublelist', 'build_boollist', 'build_tensorlist'].includes(name)) {
      return identityOfFirst(full);
    }
    if (name === 'restore_type_tag') return identityOfFirst(full);
    return undefined;
  }
  if (module === '__torch__' || module.startsWith('__torch__.')) return new PickleClass(full);
  if (/^torch\.optim\.[A-Za-z_][\w.]*$/.test(module) && /^[A-Z]\w*$/.test(name)) return new PickleClass(full);
  return undefined;
}
