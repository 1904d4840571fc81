import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Parsing and checking a config loads no engine: the config modules' import graph never reaches
 * @tensorflow/tfjs-core or onnxruntime-node. Checked twice: statically over the source files' runtime imports,
 * and at run time in this fresh test process (tfjs-core creates its global engine, `_tfengine`, when loaded).
 */

const SRC = resolve(new URL('../../src', import.meta.url).pathname);
const CONFIG_ENTRIES = ['config/load.ts', 'config/schema.ts', 'config/cross-checks.ts', 'config/describe.ts', 'config/issues.ts'];
const ENGINES = ['@tensorflow/tfjs-core', 'onnxruntime-node'];

/** Specifiers of a file's runtime imports (`import type` and `export type` erase at compile time). */
function runtimeImports(source: string): string[] {
  const out: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^;]*?\s+from\s+)?'([^']+)'/gm;
  for (const m of source.matchAll(statement)) if (!m[2]) out.push(m[4]!);
  for (const m of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) out.push(m[1]!);
  return out;
}

/** Every module reachable from `entries` through runtime imports: src files and package specifiers. */
function moduleGraph(entries: string[]): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = entries.map((e) => join(SRC, e));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.set(spec, file);
    }
  }
  return { files, packages };
}

describe('config modules load no engine', () => {
  it('statically: no runtime import path from src/config/* reaches tfjs-core or onnxruntime-node', () => {
    const { files, packages } = moduleGraph(CONFIG_ENTRIES);
    expect(files.size).toBeGreaterThan(CONFIG_ENTRIES.length);
    for (const engine of ENGINES) expect(packages.get(engine), `${engine} imported by ${packages.get(engine)}`).toBeUndefined();
    // The walk does see an engine where there is one.
    expect(moduleGraph(['backend.ts']).packages.has('@tensorflow/tfjs-core')).toBe(true);
  });

  it('at run time: importing and using the config modules leaves tfjs-core unloaded', async () => {
    const global = globalThis as { _tfengine?: unknown };
    expect(global._tfengine).toBeUndefined();
    const { parseConfig } = await import('../../src/config/load.js');
    await import('../../src/config/describe.js');
    expect(parseConfig({ loss: 'patch_loss3', augmenter: 'PatchAugmenter', n_patches: 4, backend: 'onnxruntime' }, 'test').backend).toBe('onnxruntime');
    expect(global._tfengine).toBeUndefined();
    await import('../../src/backend.js');
    expect(global._tfengine).toBeDefined();
  });
});
