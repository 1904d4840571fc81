import { copyFileSync, mkdtempSync, readFileSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertClipCheckpoint, describeConversion } from '../../src/weights/convert.js';
import { describeWeightsSource, loadClipWeights } from '../../src/weights/load.js';
import { fileSha256, OPENAI_CLIP_CHECKPOINTS } from '../../src/weights/openai-checksums.js';

/**
 * The SHA-256 check of OpenAI's checkpoints, on the tiny TorchScript CLIP registered here as if it were one of
 * OpenAI's files ("TINY.pt"): the banner names it, a namesake with another hash gets one warning line, an
 * unknown file passes silently, and each file is hashed once (remembered by path, size and mtime).
 */

const TINY = new URL('../fixtures/tiny-clip/', import.meta.url).pathname;
// sha256sum test/fixtures/tiny-clip/tiny-rn.jit.pt
const TINY_RN_SHA256 = '6493ebd4067188c353533e1a1ba1afe4c710f0c2edc9d6a7f8b16b9f2e85403b';

const tmp = mkdtempSync(join(tmpdir(), 'tpt-sha256-'));
const previousCacheDir = process.env.TPT_CACHE_DIR;

beforeAll(() => {
  process.env.TPT_CACHE_DIR = join(tmp, 'cache');
  OPENAI_CLIP_CHECKPOINTS.set(TINY_RN_SHA256, { model: 'TINY', file: 'TINY.pt' });
});

afterAll(() => {
  OPENAI_CLIP_CHECKPOINTS.delete(TINY_RN_SHA256);
  if (previousCacheDir === undefined) delete process.env.TPT_CACHE_DIR;
  else process.env.TPT_CACHE_DIR = previousCacheDir;
  rmSync(tmp, { recursive: true, force: true });
});

async function load(path: string): Promise<{ source: string; warnings: string[] }> {
  const warnings: string[] = [];
  const weights = await loadClipWeights(path, { onWarning: (m) => warnings.push(m) });
  return { source: describeWeightsSource(weights), warnings };
}

describe("OpenAI's checkpoint hashes", () => {
  it('hold the nine files of openai/CLIP `_MODELS`, each a 64-hex SHA-256', () => {
    const real = [...OPENAI_CLIP_CHECKPOINTS].filter(([sha]) => sha !== TINY_RN_SHA256);
    expect(real.map(([, c]) => c.file)).toEqual(['RN50.pt', 'RN101.pt', 'RN50x4.pt', 'RN50x16.pt', 'RN50x64.pt', 'ViT-B-32.pt', 'ViT-B-16.pt', 'ViT-L-14.pt', 'ViT-L-14-336px.pt']);
    for (const [sha] of real) expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(OPENAI_CLIP_CHECKPOINTS.get('afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762')?.model).toBe('RN50');
  });

  it('a known file under its own name: "TINY.pt (OpenAI, sha256 ok)"; renamed, it names the model', async () => {
    const own = join(tmp, 'TINY.pt');
    copyFileSync(join(TINY, 'tiny-rn.jit.pt'), own);
    expect(await load(own)).toEqual({ source: 'TINY.pt (OpenAI, sha256 ok)', warnings: [] });
    const renamed = join(tmp, 'my-clip.pt');
    copyFileSync(join(TINY, 'tiny-rn.jit.pt'), renamed);
    expect(await load(renamed)).toEqual({ source: 'my-clip.pt (OpenAI TINY, sha256 ok)', warnings: [] });
  });

  it('a known name with another hash: one warning line, and the banner says so', async () => {
    const dir = mkdtempSync(join(tmp, 'namesake-'));
    copyFileSync(join(TINY, 'tiny-vit.jit.pt'), join(dir, 'TINY.pt'));
    const { source, warnings } = await load(join(dir, 'TINY.pt'));
    expect(source).toBe("TINY.pt (not OpenAI's TINY: sha256 mismatch)");
    expect(warnings).toEqual([
      "TINY.pt: its SHA-256 (d32abea08802…) is not that of OpenAI's TINY.pt (6493ebd40671…): a damaged or partial download, or other weights under that name; download it again unless that is intended",
    ]);
  });

  it('an unknown file (fine-tuned weights) passes without a word', async () => {
    expect(await load(join(TINY, 'tiny-vit.jit.pt'))).toEqual({ source: 'tiny-vit.jit.pt', warnings: [] });
  });

  it('hashes a file once: the cache answers for the same path, size and mtime, a touched file is hashed again', async () => {
    const path = join(tmp, 'cached.pt');
    copyFileSync(join(TINY, 'coop-tiny.pth.tar'), path);
    const first = await fileSha256(path);
    const cacheFile = join(tmp, 'cache', 'sha256.json');
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, string>;
    const key = Object.keys(cache).find((k) => k.startsWith(`${realpathSync(path)}\t`))!;
    expect(cache[key]).toBe(first);
    writeFileSync(cacheFile, JSON.stringify({ ...cache, [key]: 'f'.repeat(64) })); // a planted answer
    expect(await fileSha256(path)).toBe('f'.repeat(64));
    const later = new Date(Date.now() + 5000);
    utimesSync(path, later, later);
    expect(await fileSha256(path)).toBe(first);
  });

  it('tpt convert names the model and the converted folder keeps what the hash said', async () => {
    const own = join(tmp, 'TINY.pt');
    copyFileSync(join(TINY, 'tiny-rn.jit.pt'), own);
    const out = join(tmp, 'converted');
    const report = await convertClipCheckpoint({ clip: own, out });
    expect(describeConversion(report)[0]).toMatch(/ from TINY\.pt \(OpenAI, sha256 ok\)$/);
    const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { source: string; origin: string };
    expect(manifest).toMatchObject({ source: 'TINY.pt', origin: 'OpenAI, sha256 ok' });
    expect(await load(out)).toEqual({ source: 'TINY.pt (OpenAI, sha256 ok)', warnings: [] });
  });
});
