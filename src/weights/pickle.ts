import { TptError } from '../errors.js';
import {
  decodeLong,
  decodeQuotedString,
  decodeRawUnicodeEscape,
  latin1,
  normaliseInt,
  Reader,
  utf8,
} from './pickle-reader.js';

/**
 * A Python pickle interpreter that builds data and executes nothing.
 *
 * Pickle is a stack program whose GLOBAL/REDUCE opcodes can call any Python function; a checkpoint only needs
 * a handful of constructors (tensor rebuilders, storages, OrderedDict). Every global goes through the caller's
 * `resolveGlobal`; whatever it does not return is refused with an error naming the global. Protocols 0–5 are
 * decoded (torch.save writes protocol 2, TorchScript's C++ pickler the same plus its own globals).
 *
 * Python values map to: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
 * str → string, bytes → Uint8Array, list/tuple → array, dict → Map (keeps order and non-string keys),
 * set → Set, allowed class instances → PickleObject.
 */

/** An instance of an allowed class (a TorchScript module, an optimizer): its attributes, nothing executed. */
export class PickleObject {
  readonly attributes = new Map<string, unknown>();
  /** Set when BUILD received a state that is not an attribute dict (a `__setstate__` argument). */
  state: unknown = undefined;
  constructor(
    readonly className: string,
    readonly args: readonly unknown[] = [],
  ) {}
}

/** A class that may be instantiated (NEWOBJ/REDUCE) into a PickleObject. */
export class PickleClass {
  constructor(readonly name: string) {}
}

/** A pure data-building function that REDUCE may apply. */
export class PickleCallable {
  constructor(
    readonly name: string,
    readonly apply: (args: unknown[]) => unknown,
  ) {}
}

export interface UnpickleOptions {
  /** Where the bytes come from, for error messages (a file name, or `file:entry`). */
  source: string;
  /** Returns the value of an allowed `module.name`, or undefined to refuse it. */
  resolveGlobal: (module: string, name: string) => unknown;
  /** Resolves PERSID/BINPERSID (torch uses it for storages); absent means persistent ids are refused. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Extra sentence for the refusal hint. */
  refusalHint?: string;
}

const MARK = Symbol('mark');

function typeName(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof Map) return 'dict';
  if (Array.isArray(v)) return 'list/tuple';
  if (v instanceof PickleObject) return v.className;
  if (v instanceof PickleClass || v instanceof PickleCallable) return v.name;
  return typeof v;
}

export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  const { source } = options;
  const fail = (why: string): never => {
    throw new TptError('PICKLE_CORRUPT', `cannot read the pickle in ${source}: ${why}`, {
      hint: 'The file is damaged or was not written by torch.save / torch.jit.save; re-download or re-save it.',
    });
  };
  const r = new Reader(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), fail);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();

  const pop = (): unknown => {
    if (stack.length === 0) fail(`stack underflow at offset ${r.pos}`);
    const v = stack.pop();
    if (v === MARK) fail(`unexpected MARK at offset ${r.pos}`);
    return v;
  };
  const top = (): unknown => {
    const v = stack[stack.length - 1];
    if (stack.length === 0 || v === MARK) fail(`empty stack at offset ${r.pos}`);
    return v;
  };
  const popMark = (): unknown[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) fail(`missing MARK at offset ${r.pos}`);
    const items = stack.splice(k + 1);
    stack.pop();
    return items;
  };
  const resolve = (module: string, name: string): unknown => {
    const v = options.resolveGlobal(module, name);
    if (v === undefined) {
      throw new TptError('PICKLE_REFUSED_GLOBAL', `refused pickle global "${module}.${name}" in ${source}`, {
        hint:
          (options.refusalHint ? options.refusalHint + ' ' : '') +
          'tpt never runs code from a checkpoint: it reads tensors, storages, OrderedDicts and TorchScript modules only. ' +
          'If you trust the file, load it in Python and re-save just the tensors: `torch.save(model.state_dict(), path)`.',
      });
    }
    return v;
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!Array.isArray(args)) fail(`REDUCE arguments are ${typeName(args)}, not a tuple`);
    const argv = args as unknown[];
    if (fn instanceof PickleCallable) return fn.apply(argv);
    if (fn instanceof PickleClass) return new PickleObject(fn.name, argv);
    return fail(`REDUCE applied to ${typeName(fn)}, which is not callable`);
  };
  const instantiate = (cls: unknown, args: unknown[]): unknown => {
    if (cls instanceof PickleClass) return new PickleObject(cls.name, args);
    // OrderedDict and friends are also created through NEWOBJ in some pickles
    if (cls instanceof PickleCallable) return cls.apply(args);
    return fail(`NEWOBJ applied to ${typeName(cls)}, which is not a class`);
  };
  const setItem = (target: unknown, key: unknown, value: unknown): void => {
    if (target instanceof Map) target.set(key, value);
    else if (target instanceof PickleObject && typeof key === 'string') target.attributes.set(key, value);
    else fail(`SETITEM on ${typeName(target)}`);
  };
  const build = (target: unknown, state: unknown): void => {
    if (state === null) return;
    if (target instanceof PickleObject) {
      // (instance dict, slots dict) pairs come from objects with __slots__
      const parts = Array.isArray(state) && state.length === 2 && state.every((s) => s === null || s instanceof Map) ? state : [state];
      for (const part of parts) {
        if (part === null) continue;
        if (part instanceof Map && [...part.keys()].every((k) => typeof k === 'string')) {
          for (const [k, v] of part) target.attributes.set(k as string, v);
        } else {
          target.state = part;
        }
      }
      return;
    }
    if (target instanceof Map && state instanceof Map) {
      for (const [k, v] of state) target.set(k, v);
      return;
    }
    fail(`BUILD on ${typeName(target)} with a ${typeName(state)} state`);
  };
  const persistent = (pid: unknown): unknown => {
    if (!options.persistentLoad) fail('the pickle refers to external data (persistent id) that this file cannot hold');
    return options.persistentLoad!(pid);
  };

  for (;;) {
    const at = r.pos;
    const op = r.u8();
    switch (op) {
      case 0x80: // PROTO
        if (r.u8() > 5) fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: framing is only a read-ahead hint
        r.take(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack`);
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack[stack.length - 1] === MARK) stack.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;

      // ---- scalars
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(r.u8());
        break;
      case 0x4d: // BININT2
        stack.push(r.u16());
        break;
      case 0x4a: // BININT
        stack.push(r.i32());
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(r.take(r.u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = r.i32();
        if (n < 0) fail('negative LONG4 length');
        stack.push(decodeLong(r.take(n)));
        break;
      }
      case 0x49: {
        // INT (text); "00"/"01" are protocol 0's booleans
        const t = r.line();
        if (t === '00') stack.push(false);
        else if (t === '01') stack.push(true);
        else if (/^[-+]?\d+$/.test(t)) stack.push(normaliseInt(BigInt(t)));
        else fail(`malformed INT ${JSON.stringify(t)}`);
        break;
      }
      case 0x4c: {
        // LONG (text, trailing L)
        const t = r.line().replace(/L$/, '');
        if (!/^[-+]?\d+$/.test(t)) fail(`malformed LONG ${JSON.stringify(t)}`);
        stack.push(normaliseInt(BigInt(t)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        stack.push(r.f64be());
        break;
      case 0x46: {
        // FLOAT (text)
        const v = Number(r.line());
        if (Number.isNaN(v)) fail('malformed FLOAT');
        stack.push(v);
        break;
      }

      // ---- strings and bytes
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(r.take(r.u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(r.take(r.u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(r.take(r.u64())));
        break;
      case 0x56: // UNICODE (text)
        stack.push(decodeRawUnicodeEscape(r.line()));
        break;
      case 0x53: // STRING (protocol 0 str, decoded as latin-1 like Python 3's default)
        stack.push(latin1(decodeQuotedString(r.line(), fail)));
        break;
      case 0x54: {
        // BINSTRING
        const n = r.i32();
        if (n < 0) fail('negative BINSTRING length');
        stack.push(latin1(r.take(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(r.take(r.u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(new Uint8Array(r.take(r.u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(new Uint8Array(r.take(r.u8())));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(new Uint8Array(r.take(r.u64())));
        break;

      // ---- containers
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail(`APPEND to ${typeName(list)}`);
        (list as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail(`APPENDS to ${typeName(list)}`);
        (list as unknown[]).push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new Map<unknown, unknown>();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const target = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(target, items[i], items[i + 1]);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`ADDITEMS to ${typeName(s)}`);
        for (const it of items) (s as Set<unknown>).add(it);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;

      // ---- memo
      case 0x70: // PUT (text)
        memo.set(Number(r.line()), top());
        break;
      case 0x71: // BINPUT
        memo.set(r.u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(r.u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET (text)
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x67 ? Number(r.line()) : op === 0x68 ? r.u8() : r.u32();
        if (!memo.has(k)) fail(`memo key ${k} is unset`);
        stack.push(memo.get(k));
        break;
      }

      // ---- globals and objects: the only places where code could run
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = r.line();
        stack.push(resolve(module, r.line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!Array.isArray(args)) fail('NEWOBJ arguments are not a tuple');
        stack.push(instantiate(cls, args as unknown[]));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!Array.isArray(args) || !(kwargs instanceof Map)) fail('malformed NEWOBJ_EX');
        if ((kwargs as Map<unknown, unknown>).size > 0) fail(`keyword arguments for ${typeName(cls)} are not supported`);
        stack.push(instantiate(cls, args as unknown[]));
        break;
      }
      case 0x69: {
        // INST "module\nname\n" with MARKed arguments
        const module = r.line();
        const cls = resolve(module, r.line());
        stack.push(instantiate(cls, popMark()));
        break;
      }
      case 0x6f: {
        // OBJ: MARK cls args... OBJ
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        stack.push(instantiate(items[0], items.slice(1)));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistent(pop()));
        break;
      case 0x50: // PERSID (text)
        stack.push(persistent(r.line()));
        break;
      case 0x82:
      case 0x83:
      case 0x84:
        fail('the pickle uses the copyreg extension registry (EXT opcodes), which a checkpoint never needs');
        break;
      case 0x97:
      case 0x98:
        fail('the pickle expects out-of-band buffers (protocol 5), which a checkpoint file cannot supply');
        break;
      default:
        fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`);
    }
  }
}
