#!/usr/bin/env node
// `npm run demo`: builds the demo's inputs if needed, runs `tpt run` on configs/demo.json and prints the
// summary. The logic lives in src/demo/ (compiled to dist/demo/); see `node scripts/demo.mjs --help`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = new URL('../dist/demo/run-demo.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('demo: dist/ is missing. Run `npm run demo` (it builds first) or `npm run build`.');
  process.exit(2);
}
const { parseDemoArgs, runDemo } = await import(entry.href);
const options = parseDemoArgs(process.argv.slice(2), root, process.stdout);
if (typeof options === 'string') {
  console.error(options);
  process.exitCode = options.startsWith('usage') ? 0 : 2;
} else {
  process.exitCode = await runDemo(options);
}
