import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReferenceMarkdown } from '../../src/config/describe.js';

describe('README config reference', () => {
  it('equals the table generated from the schema (run `node scripts/config-reference.mjs` after a schema change)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('<!-- config-reference:start');
    const end = readme.indexOf('<!-- config-reference:end -->');
    expect(start).toBeGreaterThan(0);
    const body = readme.slice(readme.indexOf('\n', start) + 1, end);
    expect(body.trimEnd()).toBe(configReferenceMarkdown().trimEnd());
  });
});
