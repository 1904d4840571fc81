import { pythonFloatRepr } from '../python-repr.js';

/**
 * `json.dumps(value, indent=N)` of CPython 3, byte for byte, for the text summaries the seed writes
 * (`statistics/perclass`, `statistics/global`, `Config`).
 *
 * CPython's rules reproduced here: with an indent the item separator is "," (no trailing space: the space only
 * appears with indent=None) and the key separator ": "; empty lists and dicts print as `[]` and `{}`;
 * `ensure_ascii=True` escapes every character outside space..'~' as \u plus four hex digits (UTF-16 units, like JS strings);
 * floats print as `repr(float)` (shortest round-trip digits, exponent form below 1e-4 and from 1e16, always
 * a `.0` or an exponent), non-finite floats as NaN/Infinity/-Infinity.
 *
 * JavaScript has one number type, Python two: a number prints as an int when it is an integer, unless it is
 * wrapped in `PyFloat` (the caller knows which config fields were floats in Python).
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

export type PyJson = null | boolean | number | string | PyFloat | PyJson[] | { [key: string]: PyJson };

/** A float as `json.dumps` prints it: `repr(float)`, except the non-finite values JSON spells its own way. */
export function pythonJsonFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pythonFloatRepr(x);
}

function pythonIntRepr(x: number): string {
  // Python ints have no exponent form; BigInt prints every digit of a large integer-valued double.
  return Math.abs(x) < 1e21 ? String(x) : BigInt(x).toString();
}

/** json.encoder's ESCAPE_ASCII: `([\\"]|[^\ -~])`. */
export function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    const code = s.charCodeAt(i);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (code >= 0x20 && code <= 0x7e) out += ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

function encode(value: PyJson, indent: number | null, depth: number): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (value instanceof PyFloat) return pythonJsonFloat(value.value);
  if (typeof value === 'number') {
    return Number.isInteger(value) ? pythonIntRepr(value) : pythonJsonFloat(value);
  }
  if (typeof value === 'string') return pythonJsonString(value);
  const entries: string[] = Array.isArray(value)
    ? value.map((item) => encode(item, indent, depth + 1))
    : Object.entries(value).map(([k, v]) => `${pythonJsonString(k)}: ${encode(v, indent, depth + 1)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return open + close;
  if (indent === null) return open + entries.join(', ') + close;
  const inner = '\n' + ' '.repeat(indent * (depth + 1));
  const outer = '\n' + ' '.repeat(indent * depth);
  return open + inner + entries.join(',' + inner) + outer + close;
}

/** `json.dumps(value, indent=indent)`; `indent: null` is json.dumps' default one-line form. */
export function pythonJsonDumps(value: PyJson, indent: number | null = null): string {
  return encode(value, indent, 0);
}
