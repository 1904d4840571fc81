#!/usr/bin/env node
// Regenerates the README's config reference from the zod schema (src/config/schema.ts), the single source of
// truth. `npm run build` first; test/config/readme-reference.test.ts fails when the README is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const { configReferenceMarkdown } = await import(new URL('../dist/config/describe.js', import.meta.url).href);
const text = readFileSync(readme, 'utf8');
const start = text.indexOf('<!-- config-reference:start');
const end = text.indexOf('<!-- config-reference:end -->');
if (start < 0 || end < start) {
  console.error('README.md lacks the config-reference markers');
  process.exit(2);
}
const startLineEnd = text.indexOf('\n', start) + 1;
writeFileSync(readme, text.slice(0, startLineEnd) + configReferenceMarkdown().trimEnd() + '\n' + text.slice(end));
console.log('README.md: config reference regenerated');
