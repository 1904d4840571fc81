import { describe, expect, test } from 'vitest';
import { TptError } from '../../src/errors.js';
import { PickleCallable, PickleClass, PickleObject, unpickle } from '../../src/weights/pickle.js';

const enc = (s: string) => Array.from(new TextEncoder().encode(s));
const bytes = (...parts: (number | string)[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : enc(p))));
const refuseAll = { source: 'test.pkl', resolveGlobal: () => undefined };

describe('unpickle', () => {
  test('protocol 0 text opcodes, memo and containers', () => {
    // {'a': [1, 2.5, 'x'], 'b': (True, None), 'c': <memo 2, the same list>} in protocol 0, written by hand
    const program = bytes('(dp0\nVa\np1\n(lp2\nI1\naF2.5\naVx\np3\nasVb\np4\n(I01\nNtp5\nsVc\ng2\ns.');
    const d = unpickle(program, refuseAll) as Map<string, unknown>;
    expect(d).toEqual(
      new Map<string, unknown>([
        ['a', [1, 2.5, 'x']],
        ['b', [true, null]],
        ['c', [1, 2.5, 'x']],
      ]),
    );
    expect(d.get('c')).toBe(d.get('a'));
    expect(() => unpickle(bytes('I1\nI2\n.'), refuseAll)).toThrow(/STOP with 2 values/);
  });

  test('binary integers, LONG1 and floats', () => {
    // PROTO 2, (BININT1 255, BININT2 65535, BININT -2, LONG1 2**64, BINFLOAT 0.5) TUPLE STOP
    const program = Uint8Array.from([
      0x80, 2, 0x28, 0x4b, 255, 0x4d, 0xff, 0xff, 0x4a, 0xfe, 0xff, 0xff, 0xff,
      0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x47, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0x74, 0x2e,
    ]);
    expect(unpickle(program, refuseAll)).toEqual([255, 65535, -2, 2n ** 64n, 0.5]);
  });

  test('every global is resolved through the allowlist; anything else is refused by name', () => {
    const program = bytes(0x80, 2, 'cposix\nsystem\n', 'X', 4, 0, 0, 0, 'ls /', 0x85, 'R', '.');
    let error: unknown;
    try {
      unpickle(program, refuseAll);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TptError);
    expect((error as TptError).code).toBe('PICKLE_REFUSED_GLOBAL');
    expect((error as TptError).message).toBe('refused pickle global "posix.system" in test.pkl');
  });

  test('STACK_GLOBAL is checked like GLOBAL', () => {
    const program = bytes(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, '.');
    expect(() => unpickle(program, refuseAll)).toThrow('refused pickle global "builtins.eval"');
  });

  test('allowed classes become inert records; allowed callables build data', () => {
    const resolveGlobal = (module: string, name: string) =>
      module === '__torch__.m' ? new PickleClass(`${module}.${name}`) : module === 'collections' ? new PickleCallable('od', () => new Map()) : undefined;
    // NEWOBJ of __torch__.m.Block with BUILD {'w': 1, 'sub': OrderedDict()}
    const program = bytes(0x80, 2, 'c__torch__.m\nBlock\n', ')', 0x81, '}', '(', 'X', 1, 0, 0, 0, 'w', 'K', 1, 'X', 3, 0, 0, 0, 'sub', 'ccollections\nOrderedDict\n', ')', 'R', 'u', 'b', '.');
    const obj = unpickle(program, { source: 't', resolveGlobal }) as PickleObject;
    expect(obj).toBeInstanceOf(PickleObject);
    expect(obj.className).toBe('__torch__.m.Block');
    expect(obj.attributes).toEqual(new Map<string, unknown>([['w', 1], ['sub', new Map()]]));
  });

  test('truncated and malformed streams fail cleanly', () => {
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x4a, 1]), refuseAll)).toThrow(/ends early/);
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0xff]), refuseAll)).toThrow(/unknown opcode 0xff/);
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x68, 7, 0x2e]), refuseAll)).toThrow(/memo key 7/);
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x51, 0x2e]), refuseAll)).toThrow(/underflow/);
  });
});
