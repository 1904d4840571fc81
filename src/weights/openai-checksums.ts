import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * OpenAI's CLIP checkpoints by their SHA-256. OpenAI's download URLs carry each file's hash as the path segment
 * before the file name, and `clip._download` checks it after every download (openai/CLIP, clip/clip.py,
 * `_MODELS` and `_download`, commit d05afc436d78f1c48dc0dbf8e5980a9d471f35f6). A registry (a Map), so tests can
 * register a small fixture.
 */
export const OPENAI_CLIP_CHECKPOINTS = new Map<string, { model: string; file: string }>([
  ['afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762', { model: 'RN50', file: 'RN50.pt' }],
  ['8fa8567bab74a42d41c5915025a8e4538c3bdbe8804a470a72f30b0d94fab599', { model: 'RN101', file: 'RN101.pt' }],
  ['7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd', { model: 'RN50x4', file: 'RN50x4.pt' }],
  ['52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa', { model: 'RN50x16', file: 'RN50x16.pt' }],
  ['be1cfb55d75a9666199fb2206c106743da0f6468c9d327f3e0d0a543a9919d9c', { model: 'RN50x64', file: 'RN50x64.pt' }],
  ['40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af', { model: 'ViT-B/32', file: 'ViT-B-32.pt' }],
  ['5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f', { model: 'ViT-B/16', file: 'ViT-B-16.pt' }],
  ['b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836', { model: 'ViT-L/14', file: 'ViT-L-14.pt' }],
  ['3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02', { model: 'ViT-L/14@336px', file: 'ViT-L-14-336px.pt' }],
]);

export interface ChecksumVerdict {
  sha256: string;
  /** `ok`: one of OpenAI's files; `mismatch`: named like one, but another file; `unknown`: neither (fine-tuned weights). */
  verdict: 'ok' | 'mismatch' | 'unknown';
  /** What the banner shows after the file name, e.g. "OpenAI, sha256 ok"; undefined for an unknown file. */
  origin?: string;
  /** One line for a file named like OpenAI's whose hash is not that file's. */
  warning?: string;
}

/** Where hashes are remembered by path, size and mtime: $TPT_CACHE_DIR, else $XDG_CACHE_HOME/tpt, else ~/.cache/tpt. */
function cacheFile(): string {
  const dir = process.env.TPT_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tpt');
  return join(dir, 'sha256.json');
}

async function readCache(path: string): Promise<Record<string, string>> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 22 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * The file's SHA-256, streamed once and then remembered under its real path, size and mtime (a changed or
 * replaced file is hashed again). A cache that cannot be written (a read-only home) only costs the next hash.
 */
export async function fileSha256(path: string): Promise<string> {
  const real = await realpath(path);
  const { size, mtimeMs } = await stat(real);
  const key = `${real}\t${size}\t${mtimeMs}`;
  const where = cacheFile();
  const cached = (await readCache(where))[key];
  if (typeof cached === 'string' && /^[0-9a-f]{64}$/.test(cached)) return cached;
  const sha256 = await sha256OfFile(real);
  try {
    // read again just before writing, so runs started side by side keep each other's entries
    const latest = await readCache(where);
    await mkdir(join(where, '..'), { recursive: true });
    await writeFile(where, `${JSON.stringify({ ...latest, [key]: sha256 }, null, 1)}\n`);
  } catch {
    // remembered next time the cache is writable
  }
  return sha256;
}

/** Checks a CLIP checkpoint file against OpenAI's published hashes. */
export async function checkOpenAiChecksum(path: string): Promise<ChecksumVerdict> {
  const sha256 = await fileSha256(path);
  const name = basename(path);
  const known = OPENAI_CLIP_CHECKPOINTS.get(sha256);
  if (known !== undefined) {
    return { sha256, verdict: 'ok', origin: known.file === name ? 'OpenAI, sha256 ok' : `OpenAI ${known.model}, sha256 ok` };
  }
  const namesake = [...OPENAI_CLIP_CHECKPOINTS.entries()].find(([, c]) => c.file === name);
  if (namesake === undefined) return { sha256, verdict: 'unknown' };
  const [expected, { model }] = namesake;
  return {
    sha256,
    verdict: 'mismatch',
    origin: `not OpenAI's ${model}: sha256 mismatch`,
    warning:
      `${name}: its SHA-256 (${sha256.slice(0, 12)}…) is not that of OpenAI's ${name} (${expected.slice(0, 12)}…): ` +
      'a damaged or partial download, or other weights under that name; download it again unless that is intended',
  };
}
