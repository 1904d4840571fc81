import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getDataset } from '../../src/data/datasets/registry.js';
import { DEMO_WNIDS } from '../../src/demo/demo-dataset.js';
import { ensureDemoInputs } from '../../src/demo/demo-inputs.js';
import { TINY_CLIP, TINY_COOP } from '../tpt/tiny-dataset.js';
import { writeAircraftTree, writeDtdTree } from '../dataset/split-trees.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPTS = [
  'scripts/sweep-overlap.sh',
  'scripts/sweep-losses.sh',
  'scripts/reproduce-seed.sh',
  'scripts/reproduce-tpt-table1.sh',
  'scripts/reproduce-tpt-table2.sh',
  'scripts/compare-methods.sh',
  'scripts/slurm-array.sh',
  'scripts/gpu-check.sh',
  '.ci/run',
];

function run(script: string, args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', [join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like `run`, without blocking the test runner (so its timeout applies). */
function runAsync(script: string, env: Record<string, string>, args: string[] = []): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
  });
}

describe('scripts', () => {
  it.each(SCRIPTS)('%s passes bash -n', (script) => {
    expect(() => execFileSync('bash', ['-n', join(ROOT, script)])).not.toThrow();
  });

  it('only name configs that exist', () => {
    for (const script of SCRIPTS) {
      for (const [config] of readFileSync(join(ROOT, script), 'utf8').matchAll(/configs\/[\w-]+\.json/g)) {
        expect(existsSync(join(ROOT, config)), `${script}: ${config}`).toBe(true);
      }
    }
  });

  it("sweep-overlap prints the seed's grids (9.2.1 and 10.2.1) with the inputs given by flags or environment", () => {
    const { status, stdout } = run('scripts/sweep-overlap.sh', ['--dry-run', '--imagenet-a', '/data/ia'], {
      CLIP_WEIGHTS: '/w/rn50',
      COOP_WEIGHTS: '',
      TPT_EXTRA: '--set reduced_size=7',
      TPT: 'tpt',
    });
    expect(status).toBe(0);
    const lines = stdout.split('\n').filter((l) => l.includes(' run --config '));
    expect(lines).toHaveLength(15);
    const triples = lines.map((l) => /n_aug=(\d+) --set n_patches=(\d+) --set overlap=([\d.]+)/.exec(l)!.slice(1).join(','));
    expect(triples.slice(0, 10)).toEqual(['0,64,0.0', '0,64,0.2', '0,64,0.4', '2,32,0.2', '2,32,0.4', '2,32,0.6', '4,16,0.4', '4,16,0.6', '4,16,0.8', '8,8,0.8']);
    expect(triples.slice(10)).toEqual(['2,32,0.4', '2,32,0.6', '4,16,0.4', '4,16,0.6', '4,16,0.8']);
    for (const l of lines) {
      expect(l).toContain('imagenet_a_path=/data/ia');
      expect(l).toContain('clip_weights=/w/rn50');
      expect(l).toContain('coop_weight_path= ');
      expect(l.trim().endsWith('--set reduced_size=7')).toBe(true);
    }
  });

  it('sweep-losses covers the ten losses and reproduce-seed every table', () => {
    const losses = run('scripts/sweep-losses.sh', ['--dry-run']).stdout;
    for (const config of ['patch-defaultTPT', 'patch-loss1', 'patch-loss6', 'crossentropy-hard1', 'crossentropy-hard5', 'crossentropy-soft', 'baseline']) {
      expect(losses).toContain(`configs/${config}.json`);
    }
    const all = run('scripts/reproduce-seed.sh', ['--dry-run', '--out-dir', '/tmp/o']);
    expect(all.status).toBe(0);
    expect(all.stdout.split('\n').filter((l) => l.includes(' run --config '))).toHaveLength(27);
    expect(run('scripts/reproduce-seed.sh', ['--bogus']).status).toBe(2);
  });

  it('reproduce-tpt-table1 plans 4 methods × 5 test sets per backbone, each run on its dataset, CoOp weights on the CoOp rows only', () => {
    const { status, stdout } = run('scripts/reproduce-tpt-table1.sh', ['--dry-run', '--imagenet-v2', '/d/v2', '--coop-weights', '/w/coop.pth'], {
      DATA_ROOT: '/data',
      IMAGENET_R: '/d/r',
      CLIP_WEIGHTS: '/w/clip.pt',
      TPT_EXTRA: '--set reduced_size=7',
      TPT: 'tpt',
    });
    expect(status).toBe(0);
    const lines = stdout.split('\n').filter((l) => l.includes(' run --config '));
    expect(lines).toHaveLength(40);
    const configs = [...new Set(lines.map((l) => /--config (\S+)/.exec(l)![1]))];
    expect(configs).toEqual(['rn50', 'vit-b16'].flatMap((b) => ['zeroshot', 'coop', 'tpt', 'coop-tpt'].map((m) => `configs/table1-${b}-${m}.json`)));
    for (const c of configs) expect(existsSync(join(ROOT, c)), c).toBe(true);
    const folders = Object.fromEntries(lines.slice(0, 5).map((l) => [/dataset=(\S+)/.exec(l)![1], /dataset_path=(\S+)/.exec(l)![1]]));
    expect(folders).toEqual({
      imagenet: '/data/ImageNet/val',
      'imagenet-a': '/data/imagenet-a',
      'imagenet-v2': '/d/v2',
      'imagenet-r': '/d/r',
      'imagenet-sketch': '/data/ImageNet-Sketch',
    });
    for (const l of lines) {
      expect(l).toContain('clip_weights=/w/clip.pt');
      expect(l.includes('coop_weight_path=/w/coop.pth'), l).toBe(/table1-\S+-coop/.test(l));
      expect(l.trim().endsWith('--set reduced_size=7')).toBe(true);
    }
    const only = run('scripts/reproduce-tpt-table1.sh', ['--dry-run'], { DATASETS: 'imagenet-v2', BACKBONES: 'vit-b16', METHODS: 'tpt' });
    expect(only.stdout.split('\n').filter((l) => l.includes(' run --config '))).toEqual([
      '  npx tpt run --config configs/table1-vit-b16-tpt.json --set run_name=table1-vit-b16-tpt --set dataset=imagenet-v2 --set dataset_path=data/imagenetv2-matched-frequency-format-val --set out_dir=runs ',
    ]);
    expect(run('scripts/reproduce-tpt-table1.sh', ['--dry-run'], { DATASETS: 'imagenet-c' }).status).toBe(2);
    expect(run('scripts/reproduce-tpt-table1.sh', ['--dry-run'], { METHODS: 'cocoop' }).status).toBe(2);
    expect(run('scripts/reproduce-tpt-table1.sh', ['--help']).stdout).toMatch(/Table 1 \(natural distribution shifts/);
  });

  it('compare-methods plans one run per method from configs/methods/, on the chosen test set', () => {
    const { status, stdout } = run('scripts/compare-methods.sh', ['--dry-run', '--dataset', 'imagenet-r', '--dataset-path', '/d/r', '--out-dir', '/tmp/o'], { TPT: 'tpt' });
    expect(status).toBe(0);
    const commands = stdout.split('\n').filter((l) => l.startsWith('  tpt run'));
    expect(commands).toEqual(
      ['tpt', 'c-tpt', 'r-tpt', 'zero', 'mta', 'tda', 'dmn-zs', 'boostadapter'].map(
        (m) => `  tpt run --config configs/methods/${m}.json --set run_name=compare-${m} --set dataset=imagenet-r --set dataset_path=/d/r --set out_dir=/tmp/o `,
      ),
    );
    for (const m of ['tpt', 'c-tpt', 'r-tpt', 'zero', 'mta', 'tda', 'dmn-zs', 'boostadapter']) expect(existsSync(join(ROOT, `configs/methods/${m}.json`))).toBe(true);
    expect(run('scripts/compare-methods.sh', ['--dry-run'], { METHODS: 'zero mta' }).stdout).toMatch(/2 runs on imagenet-a .*\(zero mta\)/);
    expect(run('scripts/compare-methods.sh', ['--dry-run'], { METHODS: 'no-such-method' }).status).toBe(2);
  });

  it('slurm-array submits an array and a dependent merge, and runs shard i/n inside a task', () => {
    const bin = mkdtempSync(join(tmpdir(), 'tpt-fake-sbatch-'));
    writeFileSync(join(bin, 'sbatch'), `#!/usr/bin/env bash\necho "$*" >> "${bin}/calls"\necho 777\n`);
    chmodSync(join(bin, 'sbatch'), 0o755);
    const outDir = join(bin, 'scratch-r');
    const submit = run('scripts/slurm-array.sh', [], { PATH: `${bin}:${process.env.PATH}`, SHARDS: '3', OUT_DIR: outDir, CONFIG: 'configs/best-patch.json' });
    expect(submit.status).toBe(0);
    const calls = readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n');
    expect(calls[0]).toContain('--array=0-2');
    expect(calls[0]).toContain(`--output=${outDir}/tpt-%A_%a.out`); // logs beside the runs, not in the checkout
    // the merge: after every task succeeds, and removed by Slurm (not left queued) once one cannot
    const merge = calls[1].split(' ');
    expect(merge).toContain('--dependency=afterok:777');
    expect(merge).toContain('--kill-on-invalid-dep=yes');
    expect(merge).toContain(`--output=${outDir}/tpt-merge-%j.out`);
    expect(calls[1]).toContain(`merge '${outDir}/*_shard=*of3' --out '${outDir}/merged-777'`);
    expect(existsSync(outDir)).toBe(true); // made before sbatch, which would not
    expect(readFileSync(join(ROOT, 'scripts/slurm-array.sh'), 'utf8')).not.toMatch(/^#SBATCH --output/m);

    const task = run('scripts/slurm-array.sh', [], { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '3', SLURM_SUBMIT_DIR: ROOT, TPT: 'echo tpt', CONFIG: 'configs/best-patch.json' });
    expect(task.stdout).toContain('tpt run --config configs/best-patch.json --set shard=2/3');
  });

  it('gpu-check plans the CUDA provider, the goldens with TF32 off and both benches (--dry-run), and prints one table from its results', () => {
    const dry = run('scripts/gpu-check.sh', ['--dry-run'], { SAMPLES: '2' });
    expect(dry.status).toBe(0);
    const planned = dry.stderr.split('\n').filter((l) => l.startsWith('+ '));
    const rebuild = planned.find((l) => l.includes('npm rebuild onnxruntime-node'));
    // already installed on some machines; otherwise the install script runs with CUDA asked for
    if (rebuild !== undefined) expect(rebuild).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --ignore-scripts=false');
    expect(planned.find((l) => l.includes('vitest run'))).toMatch(/^\+ env NVIDIA_TF32_OVERRIDE=0 npx vitest run .*test\/onnx\/onnx-vit-image-tower\.test\.ts/);
    expect(planned.filter((l) => l.includes(' bench '))).toEqual([
      '+ node bin/tpt.js bench --backend onnxruntime --arch RN50 --samples 2 --json',
      '+ node bin/tpt.js bench --backend onnxruntime --arch ViT-B/16 --samples 2 --json',
    ]);

    const out = mkdtempSync(join(tmpdir(), 'tpt-gpu-check-'));
    writeFileSync(join(out, 'gpu.txt'), 'NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB\n');
    writeFileSync(join(out, 'goldens.json'), JSON.stringify({ numPassedTests: 21, numFailedTests: 1, numPendingTests: 2 }));
    const bench = { seconds_per_sample: 0.614, setup_seconds: 9.2, peak_rss_mb: 3100, samples: 2, views: 64, classes: 200, engine: { name: 'onnxruntime', provider: 'cuda' } };
    writeFileSync(join(out, 'bench-RN50.json'), `${JSON.stringify(bench)}\n`);
    writeFileSync(join(out, 'bench-ViT-B-16.json'), `${JSON.stringify({ ...bench, engine: { name: 'onnxruntime', provider: 'cpu' } })}\n`);
    const table = run('scripts/gpu-check.sh', ['--table', out]);
    expect(table.status).toBe(0);
    expect(table.stdout.trimEnd().split('\n')).toEqual([
      'GPU check on NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB',
      '| check                                   | result                        | details                                                          |',
      '| --------------------------------------- | ----------------------------- | ---------------------------------------------------------------- |',
      '| ONNX goldens (tolerance 1e-4, TF32 off) | FAIL                          | 21 passed, 1 failed, 2 skipped                                   |',
      '| tpt bench RN50 (s/sample)               | 0.61                          | 2 samples × 64 views, 200 classes; peak RSS 3100 MB; setup 9.2 s |',
      '| tpt bench ViT-B/16 (s/sample)           | NOT ON CUDA (onnxruntime/cpu) | 2 samples × 64 views, 200 classes; peak RSS 3100 MB; setup 9.2 s |',
    ]);
  });

  it('the Kubernetes example is an Indexed Job whose pods take shard JOB_COMPLETION_INDEX/completions', () => {
    const yaml = readFileSync(join(ROOT, 'scripts/k8s-indexed-job.yaml'), 'utf8');
    expect(yaml).toContain('completionMode: Indexed');
    const completions = /completions: (\d+)/.exec(yaml)![1];
    expect(yaml).toContain(`shard="\${JOB_COMPLETION_INDEX}/${completions}"`);
    expect(yaml).toContain(`merge '/data/runs/*_shard=*of${completions}'`);
    // a preempted pod is not a failed shard: Ignore on DisruptionTarget, and time to finish the sample in flight
    expect(yaml).toMatch(/- action: Ignore\n\s+onPodConditions:\n\s+- type: DisruptionTarget/);
    expect(Number(/terminationGracePeriodSeconds: (\d+)/.exec(yaml)![1])).toBeGreaterThan(30);
  });
});

// End to end: needs the compiled CLI (npm test builds it first).
const haveCli = existsSync(join(ROOT, 'dist/cli/main.js'));

describe.skipIf(!haveCli)('sweep-losses end to end on the demo data', () => {
  it('runs every point and prints both report tables', async () => {
    const inputs = await ensureDemoInputs(join(mkdtempSync(join(tmpdir(), 'tpt-sweep-')), 'demo-inputs'));
    const outDir = join(inputs.root, '..', 'runs');
    mkdirSync(outDir);
    // shrink the sweep: 1 sample, few views (selection_p_all 1 so the cross-entropy losses keep a view)
    const extra = [
      'reduced_size=1', 'n_aug=1', 'n_patches=1', 'selection_p_all=1', 'image_size=64', 'allow_partial_dataset=true',
      'backend="wasm"', 'num_workers=1',
    ].map((s) => `--set ${s}`).join(' ');
    const { status, stdout, stderr } = await runAsync('scripts/sweep-losses.sh', {
      TPT: `${process.execPath} bin/tpt.js`,
      IMAGENET_A: inputs.datasetDir,
      CLIP_WEIGHTS: inputs.weightsDir,
      COOP_WEIGHTS: '',
      OUT_DIR: outDir,
      TPT_EXTRA: extra,
    });
    expect(status, stderr).toBe(0);
    expect(stdout).toContain('== Table 8.6.1');
    expect(stdout).toContain('== Table 10.2.1 (first)');
    for (const loss of ['patch_loss1', 'patch_loss6', 'crossentropy_soft', 'crossentropy_hard5']) expect(stdout).toMatch(new RegExp(`\\| ${loss} +\\|`));
    const entries = readdirSync(outDir, { withFileTypes: true }).filter((d) => d.name.startsWith('losses-'));
    const folders = entries.filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders).toHaveLength(11);
    expect(entries.filter((d) => d.isFile()).map((d) => d.name).sort()).toEqual(['losses-ce.png', 'losses-patch.png']);
    for (const f of folders) expect(JSON.parse(readFileSync(join(outDir, f, 'summary.json'), 'utf8')).finished).toBe(true);
  }, 600_000);
});

describe('reproduce-tpt-table2', () => {
  it('plans 2 methods × the ten sets per backbone, in CoOp\'s layout or, with --split-dir, TPT\'s', () => {
    const { status, stdout } = run('scripts/reproduce-tpt-table2.sh', ['--dry-run', '--dtd', '/d/dtd', '--fgvc-aircraft', '/d/air'], { DATA_ROOT: '/data' });
    expect(status).toBe(0);
    const lines = stdout.split('\n').filter((l) => l.startsWith('  '));
    expect(lines).toHaveLength(40);
    const configs = [...new Set(lines.map((l) => /--config (\S+)/.exec(l)?.[1]))];
    expect(configs).toEqual(['rn50', 'vit-b16'].flatMap((b) => ['zeroshot', 'tpt'].map((m) => `configs/table2-${b}-${m}.json`)));
    const sets = lines.slice(0, 10).map((l) => /--set dataset=(\S+)/.exec(l)?.[1]);
    expect(sets).toEqual(['flowers102', 'dtd', 'oxford-pets', 'stanford-cars', 'ucf101', 'caltech101', 'food101', 'sun397', 'fgvc-aircraft', 'eurosat']);
    expect(lines[0]).toContain('--set dataset_path=/data/oxford_flowers');
    expect(lines[1]).toContain('--set dataset_path=/d/dtd');
    expect(lines[8]).toContain('--set dataset_path=/d/air');
    for (const l of lines) expect(l).not.toContain('split_file');

    const tpt = run('scripts/reproduce-tpt-table2.sh', ['--dry-run', '--split-dir', '/s'], { DATASETS: 'dtd fgvc-aircraft', BACKBONES: 'vit-b16', METHODS: 'tpt' });
    expect(tpt.stdout.split('\n').filter((l) => l.startsWith('  '))).toEqual([
      '  npx tpt run --config configs/table2-vit-b16-tpt.json --set run_name=table2-vit-b16-tpt --set dataset=dtd --set dataset_path=data/dtd --set out_dir=runs --set split_file=/s/split_zhou_DescribableTextures.json ',
      // Aircraft's split file needs variants.txt beside it: it stays in the dataset folder
      '  npx tpt run --config configs/table2-vit-b16-tpt.json --set run_name=table2-vit-b16-tpt --set dataset=fgvc-aircraft --set dataset_path=data/fgvc_aircraft --set out_dir=runs ',
    ]);
    expect(run('scripts/reproduce-tpt-table2.sh', ['--dry-run'], { DATASETS: 'imagenet-a' }).status).toBe(2);
    expect(run('scripts/reproduce-tpt-table2.sh', ['--dry-run'], { METHODS: 'coop' }).status).toBe(2);
    expect(run('scripts/reproduce-tpt-table2.sh', ['--help']).stdout).toMatch(/Table 2 \(cross-dataset generalization/);
  });
});

describe.skipIf(!haveCli)('reproduce-tpt-table2 end to end on a miniature of two sets', () => {
  it('runs zero-shot and TPT on DTD (TPT\'s layout) and FGVC-Aircraft, with the sets\' labels, class counts and AugMix rule', async () => {
    const dtd = await writeDtdTree('tpt');
    const aircraft = await writeAircraftTree();
    const outDir = mkdtempSync(join(tmpdir(), 'tpt-table2-runs-'));
    const extra = ['n_aug=3', 'selection_p_all=0.5', 'image_size=64', 'allow_partial_dataset=true', 'backend="wasm"', 'num_workers=1', 'workers=1']
      .map((s) => `--set ${s}`)
      .join(' ');
    const { status, stdout, stderr } = await runAsync(
      'scripts/reproduce-tpt-table2.sh',
      { TPT: `${process.execPath} bin/tpt.js`, DATASETS: 'dtd fgvc-aircraft', BACKBONES: 'rn50', CLIP_WEIGHTS: TINY_CLIP, OUT_DIR: outDir, TPT_EXTRA: extra },
      ['--dtd', dtd.root, '--split-dir', join(dtd.splitFile as string, '..'), '--fgvc-aircraft', aircraft],
    );
    expect(status, stderr).toBe(0);
    expect(stdout).toContain('== Table 2');
    // the script prints --table2 itself: one row per method, columns the ten sets in the registry's order
    expect(stdout).toMatch(/Table 2 layout, backbone .+: top-1 accuracy \(%\)/); // the tiny CLIP: its own arch label
    expect(stdout).toMatch(/\| method +\| Flowers \| +DTD \| +Pets \|.*\| Aircraft \| EuroSAT \| Average \|/);
    expect(stdout).toMatch(/\| zero-shot \("a photo of a"\) /);
    expect(stdout).toMatch(/\| TPT \("a photo of a"\) /);
    const folders = readdirSync(outDir).filter((d) => d.startsWith('table2-')).sort();
    expect(folders).toHaveLength(4);
    for (const f of folders) {
      const { config } = JSON.parse(readFileSync(join(outDir, f, 'config.json'), 'utf8'));
      const samples = readFileSync(join(outDir, f, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const summary = JSON.parse(readFileSync(join(outDir, f, 'summary.json'), 'utf8'));
      expect(summary.finished).toBe(true);
      // the resolved views rule is what config.json records: AugMix on for both sets (TPT: len(set_id) > 1)
      expect(config.augmix).toBe(true);
      expect(f).toContain(`_dataset=${config.dataset}`);
      const byFile = Object.fromEntries(samples.map((s: { file: string; target: number }) => [s.file, s.target]));
      if (config.dataset === 'dtd') {
        expect(byFile).toEqual({ 'zigzagged/zigzagged_0001.jpg': 46, 'banded/banded_0002.jpg': 0, 'dotted/dotted_0111.jpg': 10, 'banded/banded_0004.jpg': 0, 'zigzagged/zigzagged_0007.jpg': 46, 'dotted/dotted_0003.jpg': 10 });
      } else {
        expect(byFile).toEqual({ '1514522.jpg': 0, '0065006.jpg': 41, '1048211.jpg': 73, '0453218.jpg': 25, '2193417.jpg': 41 });
      }
      // predictions are indices into the set's own class list
      for (const s of samples) expect(s.tpt.pred).toBeLessThan(getDataset(config.dataset).classes.length);
      expect(config.tta_steps).toBe(/-tpt_/.test(f) ? 1 : 0);
    }
  }, 600_000);
});

describe.skipIf(!haveCli)('compare-methods end to end on the demo data', () => {
  it('runs the eight methods and prints one report row per method; the online ones say so in summary.json', async () => {
    const inputs = await ensureDemoInputs(join(mkdtempSync(join(tmpdir(), 'tpt-compare-')), 'demo-inputs'));
    const outDir = join(inputs.root, '..', 'runs');
    mkdirSync(outDir);
    // 21 views: R-TPT's reliability needs 20 other views; 2 samples
    const extra = ['reduced_size=2', 'n_aug=20', 'image_size=64', 'allow_partial_dataset=true', 'backend="wasm"', 'num_workers=1', 'workers=1']
      .map((s) => `--set ${s}`)
      .join(' ');
    const { status, stdout, stderr } = await runAsync('scripts/compare-methods.sh', {
      TPT: `${process.execPath} bin/tpt.js`,
      CLIP_WEIGHTS: inputs.weightsDir,
      OUT_DIR: outDir,
      TPT_EXTRA: extra,
    }, ['--imagenet-a', inputs.datasetDir]);
    expect(status, stderr).toBe(0);
    const rows = stdout.split('\n').filter((l) => /\| compare-/.test(l));
    const named = rows.map((l) => /\| (compare-(?:c-tpt|r-tpt|tpt|zero|mta|tda|dmn-zs|boostadapter))_/.exec(l)?.[1]).sort();
    expect(named).toEqual(['compare-boostadapter', 'compare-c-tpt', 'compare-dmn-zs', 'compare-mta', 'compare-r-tpt', 'compare-tda', 'compare-tpt', 'compare-zero']);
    for (const f of readdirSync(outDir)) {
      const config = JSON.parse(readFileSync(join(outDir, f, 'config.json'), 'utf8')).config;
      expect(f.startsWith(`compare-${config.method}_`)).toBe(true);
      const summary = JSON.parse(readFileSync(join(outDir, f, 'summary.json'), 'utf8'));
      expect(summary).toMatchObject({ finished: true, samples_done: 2 });
      expect(summary.online, f).toBe(['tda', 'dmn-zs', 'boostadapter'].includes(config.method) ? true : undefined);
    }
  }, 600_000);
});

describe.skipIf(!haveCli)('reproduce-tpt-table1 end to end on the demo data', () => {
  it('runs the four methods on ImageNet-A and on a V2-layout copy (folders named by class index), then prints Table 1', async () => {
    const inputs = await ensureDemoInputs(join(mkdtempSync(join(tmpdir(), 'tpt-table1-')), 'demo-inputs'));
    // ImageNet-V2's layout over the demo images: folder <ImageNet class index> → the demo's wnid folder
    const v2 = join(inputs.root, '..', 'v2');
    mkdirSync(v2);
    const imagenet = getDataset('imagenet').classes;
    const indexOf = (wnid: string) => imagenet.findIndex((c) => c.wnid === wnid);
    for (const wnid of DEMO_WNIDS) symlinkSync(join(inputs.datasetDir, wnid), join(v2, String(indexOf(wnid))));
    const outDir = join(inputs.root, '..', 'runs');
    mkdirSync(outDir);
    const extra = ['reduced_size=1', 'n_aug=1', 'selection_p_all=1', 'image_size=64', 'allow_partial_dataset=true', 'backend="wasm"', 'num_workers=1', 'workers=1']
      .map((s) => `--set ${s}`)
      .join(' ');
    const { status, stdout, stderr } = await runAsync(
      'scripts/reproduce-tpt-table1.sh',
      {
        TPT: `${process.execPath} bin/tpt.js`,
        DATASETS: 'imagenet-a imagenet-v2',
        BACKBONES: 'rn50',
        IMAGENET_V2: v2,
        CLIP_WEIGHTS: TINY_CLIP,
        COOP_WEIGHTS: TINY_COOP,
        OUT_DIR: outDir,
        TPT_EXTRA: extra,
      },
      ['--imagenet-a', inputs.datasetDir],
    );
    expect(status, stderr).toBe(0);
    expect(stdout).toContain('== Table 1');
    expect(stdout).toMatch(/\| method +\| ImageNet \| ImageNet-A \| ImageNet-V2 \| ImageNet-R \| ImageNet-Sketch \| Average \| OOD Average \|/);
    for (const method of ['zero-shot \\("a photo of a"\\)', 'CoOp', 'TPT \\("a photo of a"\\)', 'CoOp \\+ TPT']) {
      expect(stdout).toMatch(new RegExp(`\\| ${method} +\\| +— \\| +\\d+\\.\\d\\d \\| +\\d+\\.\\d\\d \\|`));
    }
    const folders = readdirSync(outDir).filter((d) => d.startsWith('table1-'));
    expect(folders).toHaveLength(8);
    for (const f of folders) {
      const config = JSON.parse(readFileSync(join(outDir, f, 'config.json'), 'utf8')).config;
      const [sample] = readFileSync(join(outDir, f, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      // labels: V2's folder name is the ImageNet class index; ImageNet-A's wnid is its index in the 200
      const folder = sample.file.split('/')[0];
      if (config.dataset === 'imagenet-v2') expect(sample.target).toBe(Number(folder));
      else expect(sample.target).toBe(getDataset('imagenet-a').classes.findIndex((c) => c.wnid === folder));
      expect(config.coop_weight_path !== '').toBe(/table1-rn50-coop/.test(f));
    }
  }, 600_000);
});
