import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PyFloat, pythonJsonDumps, type PyJson } from '../../src/metrics/python-json.js';
import { pythonFloatRepr } from '../../src/python-repr.js';

interface Goldens {
  float_repr: { value: number; repr: string }[];
  json: { value: PyJson; float_keys: string[]; indent4: string; plain: string }[];
}
const goldens = JSON.parse(
  fs.readFileSync(new URL('../fixtures/metrics/tracker-goldens.json', import.meta.url), 'utf8'),
) as Goldens;

describe('Python json.dumps / float repr', () => {
  it('prints floats as CPython repr does', () => {
    for (const { value, repr } of goldens.float_repr) expect(pythonFloatRepr(value)).toBe(repr);
  });

  it('matches json.dumps byte for byte, with and without indent=4', () => {
    for (const c of goldens.json) {
      let value = c.value;
      if (c.float_keys.length > 0 && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        value = Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k, c.float_keys.includes(k) ? new PyFloat(v as number) : v]),
        );
      }
      expect(pythonJsonDumps(value, 4)).toBe(c.indent4);
      expect(pythonJsonDumps(value)).toBe(c.plain);
    }
  });
});
