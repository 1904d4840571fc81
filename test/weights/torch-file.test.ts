import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { TptError } from '../../src/errors.js';
import { PickleObject } from '../../src/weights/pickle.js';
import { readCoopContext, readTorchFile } from '../../src/weights/torch-file.js';
import { expectTensorEquals, FIXTURES, readExpected } from './expected.js';

const tmp = mkdtempSync(join(tmpdir(), 'tpt-weights-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function readError(path: string): Promise<TptError> {
  try {
    await readTorchFile(path);
  } catch (e) {
    expect(e).toBeInstanceOf(TptError);
    return e as TptError;
  }
  throw new Error(`${path} was read without an error`);
}

describe('readTorchFile: tensors', () => {
  test('every dtype equals what PyTorch wrote', async () => {
    const file = await readTorchFile(FIXTURES + 'dtypes.pt');
    expect(file.kind).toBe('pickle');
    expect(file.prefix).toBe('dtypes');
    const expected = readExpected('dtypes.expected.json');
    expect([...file.stateDict.keys()]).toEqual(Object.keys(expected));
    for (const [name, want] of Object.entries(expected)) expectTensorEquals(file.stateDict.get(name), want, name);
    // -0.0 survives the fp16 decode
    expect(Object.is(file.stateDict.get('f16')!.data[1], -0)).toBe(true);
  });

  test('transposed, sliced, stepped, expanded and offset views are materialised row-major', async () => {
    const file = await readTorchFile(FIXTURES + 'views.pt');
    const expected = readExpected('views.expected.json');
    for (const [name, want] of Object.entries(expected)) expectTensorEquals(file.stateDict.get(name), want, name);
  });

  test('protocol 4 pickles (torch.save(pickle_protocol=4)) read the same', async () => {
    const file = await readTorchFile(FIXTURES + 'views-p4.pt');
    const expected = readExpected('views.expected.json');
    expect([...file.stateDict.keys()]).toEqual(Object.keys(expected));
    for (const [name, want] of Object.entries(expected)) expectTensorEquals(file.stateDict.get(name), want, name);
  });

  test('a CoOp-style nested checkpoint: state_dict tensors plus the trainer objects around them', async () => {
    const file = await readTorchFile(FIXTURES + 'nested.pth.tar');
    expect(file.prefix).toBe('nested.pth');
    const expected = readExpected('nested.expected.json');
    expect([...file.stateDict.keys()]).toEqual(['ctx', 'token_prefix', 'token_suffix']);
    for (const [name, want] of Object.entries(expected)) expectTensorEquals(file.stateDict.get(name), want, name);

    const root = file.root as Map<string, unknown>;
    expect(root.get('epoch')).toBe(3);
    expect(root.get('val_result')).toBeNull();
    const misc = root.get('misc') as unknown[];
    expect(misc.slice(0, 7)).toEqual([1, 2.5, 'text', [1, 2, [3]], null, true, false]);
    expect(misc[7]).toBe(2n ** 70n);
    expect(misc[8]).toBe(-5);
    expect(misc[9]).toEqual(new TextEncoder().encode('raw'));
    expect(misc[10]).toEqual(new Map([['k', [0.25]]]));
    // Dassl keeps the cosine scheduler (and its optimizer) as objects: read as inert records
    const successor = (root.get('scheduler') as Map<string, unknown>).get('successor') as PickleObject;
    expect(successor).toBeInstanceOf(PickleObject);
    expect(successor.className).toBe('torch.optim.lr_scheduler.CosineAnnealingLR');
    expect(successor.attributes.get('T_max')).toBe(50);
    expect((successor.attributes.get('optimizer') as PickleObject).className).toBe('torch.optim.sgd.SGD');
  });

  test('a TorchScript archive yields the module tree as a state_dict in PyTorch order', async () => {
    const file = await readTorchFile(FIXTURES + 'tree.jit.pt');
    expect(file.kind).toBe('torchscript');
    expect(file.prefix).toBe('tree.jit');
    expect((file.root as PickleObject).className).toBe('__torch__.Tree');
    const order = JSON.parse(readFileSync(FIXTURES + 'tree.order.json', 'utf8')) as string[];
    // the plain tensor attribute `mask` is neither parameter nor buffer, so it is not in the state_dict
    expect([...file.stateDict.keys()]).toEqual(order);
    const expected = readExpected('tree.expected.json');
    for (const [name, want] of Object.entries(expected)) expectTensorEquals(file.stateDict.get(name), want, name);
  });

  test('an archive of older torch without `__buffers__` lines keeps the BatchNorm statistics (other tensor attributes read as buffers)', async () => {
    // tree.jit.pt with every `__buffers__ = [...]` line removed (scripts/fixtures/make_pickle_cases.py)
    const file = await readTorchFile(FIXTURES + 'tree-no-buffers.jit.pt');
    const expected = readExpected('tree.expected.json');
    for (const name of ['bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked', 'counts']) expect(Object.keys(expected)).toContain(name);
    for (const [name, want] of Object.entries(expected)) expectTensorEquals(file.stateDict.get(name), want, name);
    // what comes along: the plain tensor attribute `mask`, which only the class's __buffers__ line could rule out
    const extra = [...file.stateDict.keys()].filter((k) => !(k in expected));
    expect(extra.sort()).toEqual(['blocks.0.mask', 'blocks.1.mask']);
  });
});

describe('readTorchFile: refusals and damaged files', () => {
  test('a pickle that would call os.system is refused, naming the global', async () => {
    const e = await readError(FIXTURES + 'evil-reduce.pt');
    expect(e.code).toBe('PICKLE_REFUSED_GLOBAL');
    expect(e.message).toContain('refused pickle global "posix.system"');
    expect(e.message).toContain('evil-reduce.pt');
    expect(e.hint).toMatch(/never runs code/);
  });

  test('a class defined by the training script is refused', async () => {
    const e = await readError(FIXTURES + 'custom-class.pt');
    expect(e.code).toBe('PICKLE_REFUSED_GLOBAL');
    expect(e.message).toContain('"__main__.TrainerConfig"');
  });

  test('a truncated file (cut in half) gets its own error', async () => {
    const bytes = readFileSync(FIXTURES + 'tree.jit.pt');
    const cut = join(tmp, 'RN50-half.pt');
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    const e = await readError(cut);
    expect(e.code).toBe('WEIGHTS_TRUNCATED');
    expect(e.message).toContain('RN50-half.pt');
    expect(e.hint).toMatch(/interrupted/);
  });

  test('failed downloads saved under the right name: an HTML page, a Git LFS pointer, an XML error page', async () => {
    const cases: Array<[string, string, string]> = [
      ['RN50.pt', '<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Not found</body></html>\n', 'it is an HTML page (a failed download saved under this name: an error, login or redirect page)'],
      [
        'ViT-B-16.pt',
        'version https://git-lfs.github.com/spec/v1\noid sha256:5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f\nsize 351454720\n',
        'it is a Git LFS pointer to a 351,454,720-byte file, not the file itself (the repository was cloned or downloaded without `git lfs pull`)',
      ],
      ['model.pth.tar-50', '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code></Error>', "it is a storage service's XML error page (a failed download saved under this name)"],
    ];
    for (const [name, text, what] of cases) {
      const path = join(tmp, name);
      writeFileSync(path, text);
      const e = await readError(path);
      expect(e.code).toBe('WEIGHTS_NOT_CHECKPOINT');
      expect(e.message).toBe(`"${name}" is not a PyTorch checkpoint: ${what}`);
      expect(e.hint).toMatch(/^Download the file again/);
      expect(e.message).not.toContain('\n');
    }
  });

  test('a file missing only its last bytes is truncated too', async () => {
    const bytes = readFileSync(FIXTURES + 'dtypes.pt');
    const cut = join(tmp, 'dtypes-cut.pt');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    expect((await readError(cut)).code).toBe('WEIGHTS_TRUNCATED');
  });

  test('the legacy (pre-1.6) format says how to re-save', async () => {
    const e = await readError(FIXTURES + 'legacy.pt');
    expect(e.code).toBe('WEIGHTS_LEGACY_FORMAT');
    expect(e.message).toContain('legacy.pt');
    expect(e.hint).toContain('torch>=1.6');
    expect(e.hint).toContain('torch.save(obj, path)');
  });

  test('random bytes and images are not checkpoints', async () => {
    const noise = join(tmp, 'noise.pt');
    writeFileSync(noise, Uint8Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) % 251));
    const e = await readError(noise);
    expect(e.code).toBe('WEIGHTS_NOT_CHECKPOINT');
    expect(e.message).toContain('noise.pt');
    const jpeg = join(tmp, 'photo.jpg');
    writeFileSync(jpeg, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]));
    const j = await readError(jpeg);
    expect(j.code).toBe('WEIGHTS_NOT_CHECKPOINT');
    expect(j.message).toMatch(/JPEG/);
    const pickled = join(tmp, 'plain.pkl');
    writeFileSync(pickled, Uint8Array.from([0x80, 0x04, 0x4b, 0x01, 0x2e]));
    expect((await readError(pickled)).message).toMatch(/plain Python pickle/);
    const empty = join(tmp, 'empty.pt');
    writeFileSync(empty, new Uint8Array(0));
    expect((await readError(empty)).message).toMatch(/empty/);
  });

  test('a zip archive without data.pkl is not a torch file', async () => {
    const e = await readError(FIXTURES + 'not-torch.zip');
    expect(e.code).toBe('WEIGHTS_NOT_TORCH_ZIP');
    expect(e.message).toContain('not-torch.zip');
  });

  test('a missing path is reported with a hint', async () => {
    const e = await readError(join(tmp, 'nope', 'RN50.pt'));
    expect(e.code).toBe('WEIGHTS_NOT_FOUND');
    expect(e.hint).toBeTruthy();
  });

  test('the prefix comes from the archive, not from the file name', async () => {
    const renamed = join(tmp, 'renamed.bin');
    copyFileSync(FIXTURES + 'views.pt', renamed);
    const file = await readTorchFile(renamed);
    expect(file.prefix).toBe('views');
    expect(file.stateDict.size).toBe(7);
  });
});

describe('readCoopContext', () => {
  test("reads state_dict['ctx'] of a Dassl checkpoint", async () => {
    const ctx = await readCoopContext(FIXTURES + 'nested.pth.tar');
    expectTensorEquals(ctx, readExpected('nested.expected.json')['ctx']!, 'ctx');
  });

  test('reads a class-specific [n_cls, n_ctx, width] context', async () => {
    const ctx = await readCoopContext(FIXTURES + 'coop-csc.pth.tar');
    expect(ctx.shape).toEqual([3, 2, 8]);
    expectTensorEquals(ctx, readExpected('coop-csc.expected.json')['ctx']!, 'ctx');
  });

  test('a checkpoint without ctx gets a clear error', async () => {
    await expect(readCoopContext(FIXTURES + 'coop-no-ctx.pth.tar')).rejects.toMatchObject({
      code: 'COOP_NO_CTX',
      message: expect.stringContaining('token_prefix'),
    });
  });
});
