import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { main } from '../../src/cli/main.js';
import { TINY_CLIP, TINY_COOP, TINY_VIT_CLIP, TINY_VIT_COOP, writeTinyDataset } from './tiny-dataset.js';

function captureOutput(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  return { out: () => out, err: () => err };
}

beforeAll(async () => {
  await initBackend('wasm');
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('tpt run (command line)', () => {
  it('teaches with --help: options, examples and the config keys', async () => {
    const output = captureOutput();
    const code = await main(['node', 'tpt', 'run', '--help']);
    expect(code).toBe(0);
    const help = output.out();
    expect(help).toContain('--config <file>');
    expect(help).toContain('--set <key=value>');
    expect(help).toContain('--fresh');
    expect(help).toContain('tpt run --config configs/baseline.json --set reduced_size=200');
    expect(help).toMatch(/n_aug\s+63/);
  });

  it('runs a config file with --set overrides, prints the banner, summary and TensorBoard hint', async () => {
    const root = await writeTinyDataset({ classes: 1, perClass: 2 });
    const outDir = mkdtempSync(join(tmpdir(), 'tpt-cli-runs-'));
    const configPath = join(outDir, 'tiny.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        imagenet_a_path: root, clip_weights: TINY_CLIP, coop_weight_path: TINY_COOP, allow_partial_dataset: true,
        image_size: 64, n_aug: 3, augmix: false, selection_p_all: 0.5, backend: 'wasm', save_imgs: false, out_dir: outDir,
      }),
    );
    const output = captureOutput();
    const code = await main(['node', 'tpt', 'run', '--config', configPath, '--set', 'reduced_size=1', '--set', 'run_name=cli']);
    expect(output.err()).not.toMatch(/unexpected error/);
    expect(code).toBe(0);
    // the seed's name, then the hash of the keys it leaves out that this config sets (weights, paths, image_size)
    const seedName = 'cli_size=1_augmenter=AugmenterTPT_loss=defaultTPT_naug=3_npatch=0_overlap=0.0_augmix=False_severity=2_lr=0.005_spall=0.5_sppat=0.9';
    const runName = readdirSync(outDir).find((n) => n.startsWith(seedName)) ?? '';
    expect(runName).toMatch(/_sppat=0\.9_cfg=[0-9a-f]{8}$/);
    const out = output.out();
    expect(out).toContain('seed       1337');
    expect(out).toContain(`run folder ${join(outDir, runName)}`);
    expect(out).toContain('"n_aug": 3,');
    expect(out).toContain('Finished 1 samples');
    expect(out).toContain(`tensorboard --logdir ${outDir}`);
    expect(output.err()).toMatch(/\[tpt\] 1\/1 \(100\.0%\)/); // not a TTY: progress lines
  });

  it('runs with a ViT checkpoint and names it in the banner', async () => {
    const root = await writeTinyDataset({ classes: 1, perClass: 1 });
    const outDir = mkdtempSync(join(tmpdir(), 'tpt-cli-vit-'));
    const configPath = join(outDir, 'tiny-vit.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        imagenet_a_path: root, clip_weights: TINY_VIT_CLIP, coop_weight_path: TINY_VIT_COOP, allow_partial_dataset: true,
        image_size: 64, n_aug: 3, augmix: false, selection_p_all: 0.5, backend: 'wasm', save_imgs: false, out_dir: outDir,
      }),
    );
    const output = captureOutput();
    const code = await main(['node', 'tpt', 'run', '--config', configPath, '--set', 'reduced_size=1', '--set', 'run_name=vit']);
    expect(output.err()).not.toMatch(/unexpected error/);
    expect(code).toBe(0);
    expect(output.out()).toMatch(/arch\s+ViT width 64, 2 layers, patch 8, 64px \(the config says RN50; the weights decide\)/);
    expect(output.out()).toContain('Finished 1 samples');
  });

  it('reports a bad config as one line per field with a hint, and exits 2', async () => {
    const output = captureOutput();
    const code = await main(['node', 'tpt', 'run', '--set', 'batch_size=2', '--set', 'n_augs=3']);
    expect(code).toBe(2);
    expect(output.err()).toContain('--set: unknown key "n_augs" (did you mean "n_aug"?)');
  });

  it('--backend names the engine: an unknown one is a config error', async () => {
    const output = captureOutput();
    expect(await main(['node', 'tpt', 'run', '--backend', 'gpu'])).toBe(2);
    expect(output.err()).toMatch(/backend/);
  });
});
