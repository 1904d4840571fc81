import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend.js';
import type { ClassifyResult } from '../../src/classify.js';
import { main } from '../../src/cli/main.js';
import { ensureDistBuilt } from '../workers/ensure-dist.js';
import { TINY_CLIP, TINY_COOP, writeTinyDataset } from './tiny-dataset.js';

/** `tpt run`, `tpt classify` and `tpt bench` with --backend onnxruntime, end to end through the command line. */

function captureOutput(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  return { out: () => out, err: () => err };
}

let dir: string;

beforeAll(async () => {
  ensureDistBuilt();
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'tpt-cli-onnx-'));
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tpt commands with --backend onnxruntime', () => {
  it('tpt run --backend onnxruntime tunes, names the engine and records it in summary.json', async () => {
    const root = await writeTinyDataset({ classes: 1, perClass: 2 });
    const outDir = join(dir, 'runs');
    const configPath = join(dir, 'tiny.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        imagenet_a_path: root, clip_weights: TINY_CLIP, coop_weight_path: TINY_COOP, allow_partial_dataset: true,
        image_size: 64, n_aug: 3, augmix: false, selection_p_all: 0.5, save_imgs: false, out_dir: outDir,
      }),
    );
    const output = captureOutput();
    const code = await main(['node', 'tpt', 'run', '--config', configPath, '--set', 'reduced_size=2', '--set', 'run_name=onnx', '--backend', 'onnxruntime']);
    expect(output.err()).not.toMatch(/unexpected error/);
    expect(code).toBe(0);
    expect(output.out()).toContain('onnxruntime');
    expect(output.out()).toContain('Finished 2 samples');
    const [runName, ...others] = readdirSync(outDir);
    expect(others).toHaveLength(0);
    const summary = JSON.parse(readFileSync(join(outDir, runName!, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(summary)).toContain('"onnxruntime"');
  });

  it('tpt classify --backend onnxruntime gives the wasm logits (1e-3) and the same top classes', async () => {
    const image = join(dir, 'img.png');
    const data = Buffer.alloc(80 * 60 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i % 13) * 29) & 255;
    await sharp(data, { raw: { width: 80, height: 60, channels: 3 } }).png().toFile(image);
    const classify = async (backend: string): Promise<ClassifyResult[]> => {
      const output = captureOutput();
      const code = await main(['node', 'tpt', 'classify', image, '--weights', join(TINY_CLIP), '--coop', TINY_COOP, '--topk', '3', '--json', '--backend', backend]);
      vi.restoreAllMocks();
      expect(output.err()).not.toMatch(/unexpected error/);
      expect(code).toBe(0);
      return JSON.parse(output.out()) as ClassifyResult[];
    };
    const [onnx] = await classify('onnxruntime');
    const [wasm] = await classify('wasm');
    expect(onnx!.logits).toHaveLength(200);
    let diff = 0;
    onnx!.logits.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - wasm!.logits[i]!))));
    expect(diff).toBeLessThan(1e-3);
    expect(onnx!.top.map((t) => t.index)).toEqual(wasm!.top.map((t) => t.index));
  });

  it('tpt bench --backend onnxruntime --arch tiny --json reports the onnxruntime engine', async () => {
    const output = captureOutput();
    const code = await main(['node', 'tpt', 'bench', '--arch', 'tiny', '--views', '10', '--classes', '8', '--samples', '2', '--workers', '1', '--backend', 'onnxruntime', '--json']);
    expect(output.err()).not.toMatch(/unexpected error/);
    expect(code).toBe(0);
    const lines = output.out().trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(report).toMatchObject({ arch: 'tiny', views: 10, classes: 8, samples: 2, workers: 1 });
    expect(JSON.stringify(report)).toContain('onnxruntime');
    expect(report['seconds_per_sample']).toBeGreaterThan(0);
  });
});
