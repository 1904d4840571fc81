import { isHostTensor, type HostTensor, type StateDict } from './host-tensor.js';
import { PickleObject } from './pickle.js';

/**
 * Recovering a state_dict from what a torch file's pickle holds: a dict (plain torch.save) or a tree of
 * TorchScript module objects (torch.jit.save).
 */

/** Which attributes of a TorchScript class are parameters and buffers, from the archive's `code/` files. */
export interface ScriptClassInfo {
  parameters: string[];
  /** undefined: the source has no `__buffers__` line (older torch.jit.save); see scriptModuleStateDict. */
  buffers: string[] | undefined;
}

/**
 * Parses `__parameters__ = ["w", ]` / `__buffers__ = [...]` out of TorchScript's generated class sources.
 * `modulePath` is the file's path under `code/` turned into a dotted module (`__torch__.torch.nn.modules.conv`);
 * the result is keyed by the class's qualified name, exactly as the pickle's GLOBAL names it.
 */
export function parseScriptClasses(modulePath: string, source: string, into: Map<string, ScriptClassInfo>): void {
  const blocks = source.split(/^(?=class \w+\()/m);
  for (const block of blocks) {
    const head = /^class (\w+)\(/.exec(block);
    if (!head) continue;
    const names = (field: string): string[] => {
      const m = new RegExp(`^\\s+${field} = \\[([^\\]]*)\\]`, 'm').exec(block);
      return m ? [...m[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) : [];
    };
    if (!/__parameters__ =/.test(block) && !/__buffers__ =/.test(block)) continue;
    const buffers = /^\s+__buffers__ =/m.test(block) ? names('__buffers__') : undefined;
    into.set(`${modulePath}.${head[1]}`, { parameters: names('__parameters__'), buffers });
  }
}

export function isScriptModule(v: unknown): v is PickleObject {
  return v instanceof PickleObject && v.className.startsWith('__torch__.');
}

/**
 * Walks a TorchScript module tree the way `Module.state_dict()` does: a module's parameters, then its
 * buffers, then each sub-module under `<attr>.`. Tensor attributes that are neither (CLIP's `attn_mask` in a
 * scripted model) are left out when the class sources say so; without class sources every tensor attribute
 * counts, in attribute order. A class source without a `__buffers__` line (written by older torch) names its
 * parameters only: its other tensor attributes are read as buffers, so BatchNorm's running statistics are
 * kept (a non-state tensor such as `attn_mask` comes along too; CLIP's loader drops it by name).
 */
export function scriptModuleStateDict(root: PickleObject, classes: ReadonlyMap<string, ScriptClassInfo>): StateDict {
  const out: StateDict = new Map();
  const seen = new Set<PickleObject>();
  const visit = (module: PickleObject, prefix: string): void => {
    if (seen.has(module)) return;
    seen.add(module);
    const info = classes.get(module.className);
    const tensorAttributes = () => [...module.attributes].filter(([, v]) => isHostTensor(v)).map(([k]) => k);
    const tensorNames = info
      ? [...info.parameters, ...(info.buffers ?? tensorAttributes().filter((k) => !info.parameters.includes(k)))]
      : tensorAttributes();
    for (const name of tensorNames) {
      const t = module.attributes.get(name);
      if (isHostTensor(t)) out.set(prefix + name, t);
    }
    for (const [name, value] of module.attributes) {
      if (isScriptModule(value)) visit(value, `${prefix}${name}.`);
    }
  };
  visit(root, '');
  return out;
}

function tensorEntries(dict: Map<unknown, unknown>): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of dict) if (typeof k === 'string' && isHostTensor(v)) out.set(k, v as HostTensor);
  return out;
}

/**
 * The state_dict of a plain torch.save file: the top-level dict's tensors, or the tensors of its
 * `state_dict` entry when it has one (Dassl/CoOp's `{state_dict, epoch, optimizer, …}`).
 */
export function plainStateDict(root: unknown): StateDict {
  if (!(root instanceof Map)) return new Map();
  const nested = root.get('state_dict');
  if (nested instanceof Map) return tensorEntries(nested);
  return tensorEntries(root);
}
