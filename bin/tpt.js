#!/usr/bin/env node
// Thin launcher: the command line lives in the compiled library (dist/, built by `npm install`'s prepare step).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('tpt: dist/ is missing. Run `npm install` (or `npm run build`) in the tpt folder first.');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
