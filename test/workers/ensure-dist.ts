import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Worker threads run the compiled code in dist/. `npm test` builds first; a test run started directly
 * (npx vitest) may find dist/ missing or older than src/, and then a worker would run other code than the
 * test. This compiles once when any source file is newer than its output (tsc emits even when some other
 * file has a type error, which is what a worker needs).
 */
const ROOT = new URL('../..', import.meta.url).pathname;

function staleSources(dir: string): string[] {
  const stale: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) stale.push(...staleSources(path));
    else if (entry.name.endsWith('.ts')) {
      const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), path)).replace(/\.ts$/, '.js');
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(path).mtimeMs) stale.push(path);
    }
  }
  return stale;
}

export function ensureDistBuilt(): void {
  if (staleSources(join(ROOT, 'src')).length === 0) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    // Type errors elsewhere still leave the emitted JavaScript; the check below is what matters.
  }
  if (!existsSync(join(ROOT, 'dist', 'workers', 'tuning-worker.js'))) throw new Error('dist/workers/tuning-worker.js is missing after `tsc`; run `npm run build`');
}
