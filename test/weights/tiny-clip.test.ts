import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { registerConvert } from '../../src/cli/convert.js';
import { DROPPED_SCALAR_BUFFERS, inferClipArch, type ClipArch } from '../../src/weights/arch.js';
import { convertClipCheckpoint, describeConversion } from '../../src/weights/convert.js';
import type { HostTensor, StateDict } from '../../src/weights/host-tensor.js';
import { clipWeightsFromStateDict, loadClipWeights, type ClipWeights } from '../../src/weights/load.js';
import { readWeightsFolder, writeWeightsFolder } from '../../src/weights/manifest.js';
import { readCoopContext, readTorchFile, type TorchFile } from '../../src/weights/torch-file.js';

const TINY = new URL('../fixtures/tiny-clip/', import.meta.url).pathname;
const REPO = new URL('../../', import.meta.url).pathname;
const have = existsSync(TINY + 'tiny-rn.jit.pt') && existsSync(TINY + 'tiny-rn.fp16.pt');

/** arch.json / arch-vit.json as written by scripts/fixtures/tiny_clip.py (PyTorch's build_model on the tiny model). */
function pythonArch(file = 'arch.json'): ClipArch {
  const a = JSON.parse(readFileSync(TINY + file, 'utf8')) as Record<string, number & number[]>;
  const text = {
    embedDim: a['embed_dim']!,
    imageResolution: a['image_resolution']!,
    visionWidth: a['vision_width']!,
    visionHeads: a['vision_heads']!,
    contextLength: a['context_length']!,
    vocabSize: a['vocab_size']!,
    transformerWidth: a['transformer_width']!,
    transformerHeads: a['transformer_heads']!,
    transformerLayers: a['transformer_layers']!,
  };
  // build_model's own test: a ViT's vision_layers is one number, a ResNet's a list of four
  return typeof a['vision_layers'] === 'number'
    ? { visionKind: 'vit', ...text, visionLayers: a['vision_layers'], visionPatchSize: a['vision_patch_size']! }
    : { visionKind: 'resnet', ...text, visionLayers: a['vision_layers'] as unknown as [number, number, number, number] };
}

/** Same names in the same order, same dtypes and shapes, and bit-identical values. */
function expectSameStateDict(a: StateDict, b: StateDict): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, t] of a) expectSameTensor(t, b.get(name)!, name);
}

function expectSameTensor(a: HostTensor, b: HostTensor, name: string): void {
  expect(b.dtype, name).toBe(a.dtype);
  expect(b.shape, name).toEqual(a.shape);
  // compare bit patterns, so -0/NaN differences cannot hide
  expect(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).equals(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)), name).toBe(true);
}

describe.skipIf(!have)('tiny CLIP fixture (TorchScript and state_dict forms)', () => {
  let jit: TorchFile;
  let fp16: TorchFile;
  const tmp = mkdtempSync(join(tmpdir(), 'tpt-tiny-'));
  beforeAll(async () => {
    jit = await readTorchFile(TINY + 'tiny-rn.jit.pt');
    fp16 = await readTorchFile(TINY + 'tiny-rn.fp16.pt');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('the TorchScript archive and the fp16 state_dict hold the same names, shapes and values', () => {
    expect(jit.kind).toBe('torchscript');
    expect(fp16.kind).toBe('pickle');
    // the JIT archive also carries build_model's scalar buffers
    for (const k of DROPPED_SCALAR_BUFFERS) expect(jit.stateDict.has(k)).toBe(true);
    const withoutScalars = new Map([...jit.stateDict].filter(([k]) => !(DROPPED_SCALAR_BUFFERS as readonly string[]).includes(k)));
    expectSameStateDict(fp16.stateDict, withoutScalars);
    expect(fp16.stateDict.get('visual.conv1.weight')!.dtype).toBe('float16');
    expect(fp16.stateDict.get('visual.bn1.weight')!.dtype).toBe('float32');
  });

  test('inferClipArch gives the tiny architecture PyTorch built', () => {
    const arch = inferClipArch(new Map([...jit.stateDict].map(([k, t]) => [k, t.shape])));
    expect(arch).toEqual(pythonArch());
    expect(arch.visionLayers).toEqual([2, 1, 1, 1]);
  });

  test('convert → readWeightsFolder gives bit-identical tensors, ctx and metadata', async () => {
    const vocab = join(tmp, 'vocab.txt.gz');
    writeFileSync(vocab, gzipSync('"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\n'));
    const out = join(tmp, 'converted');
    const report = await convertClipCheckpoint({ clip: TINY + 'tiny-rn.jit.pt', coop: TINY + 'coop-tiny.pth.tar', bpe: vocab, out });
    expect(report.tensors).toBe(171);
    const files = readdirSync(out).sort();
    expect(files).toContain('model.json');
    expect(files).toContain('bpe_simple_vocab_16e6.txt.gz');
    const shards = files.filter((f) => /^group1-shard\d+of\d+\.bin$/.test(f));
    expect(shards.length).toBeGreaterThan(1); // so some tensors straddle shard boundaries
    for (const s of shards) expect(readFileSync(join(out, s)).length).toBeLessThanOrEqual(4 * 1024 * 1024);

    const back = await readWeightsFolder(out);
    expect(back.arch).toEqual(pythonArch());
    expect(back.source).toBe('tiny-rn.jit.pt');
    expectSameStateDict(report.weights.stateDict, back.stateDict);
    expectSameTensor(await readCoopContext(TINY + 'coop-tiny.pth.tar'), back.coopCtx!, 'ctx');
    expect(back.coopSource).toBe('coop-tiny.pth.tar');
    expect(readFileSync(back.bpePath!)).toEqual(readFileSync(vocab));

    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as Record<string, unknown>;
    expect(json['format']).toBe('tpt-clip-weights');
    expect(json['formatVersion']).toBe(1);
    expect(json['preprocess']).toEqual({ mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711], inputResolution: 64 });
    expect(json['bpe']).toBe('bpe_simple_vocab_16e6.txt.gz');
    const weights = (json['weightsManifest'] as { weights: { name: string; dtype: string; quantization?: unknown }[] }[])[0]!.weights;
    expect(weights.find((w) => w.name === 'visual.conv1.weight')).toMatchObject({ dtype: 'float32', quantization: { dtype: 'float16' } });
    expect(weights.find((w) => w.name === 'prompt_learner.ctx')).toBeDefined();
    expect(weights.some((w) => w.name === 'input_resolution')).toBe(false);
  });

  test('a raw checkpoint loads the same as its converted folder; fp16 and TorchScript sources agree', async () => {
    const fromJit = await loadClipWeights(TINY + 'tiny-rn.jit.pt', { coop: TINY + 'coop-tiny.pth.tar' });
    const fromState = clipWeightsFromStateDict(fp16.stateDict, 'tiny-rn.fp16.pt');
    expectSameStateDict(fromJit.stateDict, fromState.stateDict);
    const dir = join(tmp, 'roundtrip');
    await writeWeightsFolder(dir, fromJit);
    const fromFolder: ClipWeights = await loadClipWeights(dir);
    expectSameStateDict(fromJit.stateDict, fromFolder.stateDict);
    expectSameTensor(fromJit.coopCtx!, fromFolder.coopCtx!, 'ctx');
    expect(fromFolder.arch).toEqual(fromJit.arch);
    expect((await loadClipWeights(join(dir, 'model.json'))).stateDict.size).toBe(fromJit.stateDict.size);
  });

  test('weights paths that do not exist or are not weights get hints', async () => {
    await expect(loadClipWeights(join(tmp, 'missing'))).rejects.toMatchObject({ code: 'WEIGHTS_NOT_FOUND', hint: expect.stringContaining('tpt convert') });
    await expect(loadClipWeights(tmp)).rejects.toMatchObject({ code: 'WEIGHTS_NOT_FOUND' });
    await expect(loadClipWeights(TINY + 'coop-tiny.pth.tar')).rejects.toMatchObject({ code: 'WEIGHTS_NOT_CLIP' });
  });

  test('the convert command parses its flags and prints what it wrote (in process)', async () => {
    const out = join(tmp, 'command');
    const program = new Command('tpt').exitOverride();
    registerConvert(program);
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(['node', 'tpt', 'convert', '--clip', TINY + 'tiny-rn.fp16.pt', '--out', out]);
    } finally {
      spy.mockRestore();
    }
    const text = printed.join('');
    expect(text).toMatch(/^wrote .*command \(\d+ files, [\d.]+ MB\) from tiny-rn\.fp16\.pt/);
    expect(text).toContain('text: width 128, 2 heads, 2 layers, context 77, vocab 49408; embed dim 32');
    expect((await readWeightsFolder(out)).stateDict.size).toBe(171);
  });

  test('convert --help shows an example', async () => {
    let help = '';
    const program = new Command('tpt').exitOverride().configureOutput({ writeOut: (s) => (help += s) });
    registerConvert(program);
    program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => (help += s) }));
    await expect(program.parseAsync(['node', 'tpt', 'convert', '--help'])).rejects.toMatchObject({ code: 'commander.helpDisplayed' });
    expect(help).toContain('--clip <file>');
    expect(help).toMatch(/Example:\n\s+\$ tpt convert --clip/);
  });

  test.skipIf(!existsSync(REPO + 'dist/cli/main.js'))('the CLI converts (node bin/tpt.js convert …)', () => {
    const out = join(tmp, 'cli');
    const stdout = execFileSync(process.execPath, [REPO + 'bin/tpt.js', 'convert', '--clip', TINY + 'tiny-rn.jit.pt', '--coop', TINY + 'coop-tiny.pth.tar', '--out', out], {
      encoding: 'utf8',
    });
    expect(stdout).toMatch(/^wrote .*cli \(\d+ files, [\d.]+ MB\) from tiny-rn\.jit\.pt/);
    expect(stdout).toContain('layers (2, 1, 1, 1), width 8');
    expect(stdout).toContain('CoOp ctx [4, 128]');
    expect(existsSync(join(out, 'model.json'))).toBe(true);
  });
});

const haveVit = existsSync(TINY + 'tiny-vit.jit.pt') && existsSync(TINY + 'tiny-vit.fp16.pt');

describe.skipIf(!haveVit)('tiny ViT CLIP fixture (TorchScript and state_dict forms)', () => {
  let jit: TorchFile;
  let fp16: TorchFile;
  const tmp = mkdtempSync(join(tmpdir(), 'tpt-tiny-vit-'));
  beforeAll(async () => {
    jit = await readTorchFile(TINY + 'tiny-vit.jit.pt');
    fp16 = await readTorchFile(TINY + 'tiny-vit.fp16.pt');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('the TorchScript archive and the fp16 state_dict hold the same names, shapes and values', () => {
    expect(jit.kind).toBe('torchscript');
    expect(fp16.kind).toBe('pickle');
    const withoutScalars = new Map([...jit.stateDict].filter(([k]) => !(DROPPED_SCALAR_BUFFERS as readonly string[]).includes(k)));
    expectSameStateDict(fp16.stateDict, withoutScalars);
    // OpenAI's convert_weights: conv, linear and proj in fp16; embeddings of the class token and positions in fp32
    expect(fp16.stateDict.get('visual.conv1.weight')!.dtype).toBe('float16');
    expect(fp16.stateDict.get('visual.proj')!.dtype).toBe('float16');
    expect(fp16.stateDict.get('visual.class_embedding')!.dtype).toBe('float32');
  });

  test('inferClipArch gives the tiny ViT PyTorch built', () => {
    const arch = inferClipArch(new Map([...jit.stateDict].map(([k, t]) => [k, t.shape])));
    expect(arch).toEqual(pythonArch('arch-vit.json'));
    expect(arch).toMatchObject({ visionKind: 'vit', visionLayers: 2, visionWidth: 64, visionHeads: 1, visionPatchSize: 8, imageResolution: 64 });
  });

  test('convert writes a folder that reads back bit-identical, with the CoOp ctx [4, 64]', async () => {
    const out = join(tmp, 'converted');
    const report = await convertClipCheckpoint({ clip: TINY + 'tiny-vit.jit.pt', coop: TINY + 'coop-tiny-vit.pth.tar', out });
    expect(report.weights.coopCtx!.shape).toEqual([4, 64]);
    const back = await readWeightsFolder(out);
    expect(back.arch).toEqual(pythonArch('arch-vit.json'));
    expectSameStateDict(report.weights.stateDict, back.stateDict);
    expectSameStateDict(clipWeightsFromStateDict(fp16.stateDict, 'tiny-vit.fp16.pt').stateDict, back.stateDict);
    expectSameTensor(await readCoopContext(TINY + 'coop-tiny-vit.pth.tar'), back.coopCtx!, 'ctx');
    const printed = describeConversion(report).join('\n');
    expect(printed).toContain('image: VisionTransformer width 64, 2 layers, 1 heads, patch 8, input 64 px');
    expect(printed).toContain('CoOp ctx [4, 64]');
  });
});
