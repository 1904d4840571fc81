/**
 * `npm run demo`: the whole job on embedded inputs, with nothing downloaded.
 * 1. build (or reuse) the demo inputs: synthetic ImageNet-A-shaped images and a small random-weight CLIP;
 * 2. run the ordinary `tpt run` on configs/demo.json, as a user would, in a child process;
 * 3. print the run's summary, the `tpt report` command and how to open TensorBoard.
 * The demo's accuracy means nothing (the weights are random); it exists to show the pipeline end to end.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { isTptError } from '../errors.js';
import { buildReport } from '../report/report.js';
import { runFolderPath } from '../run/run-folder.js';
import type { RunSummary } from '../run/summary.js';
import { DEMO_WNIDS } from './demo-dataset.js';
import { DEMO_DATASET_DIR, ensureDemoInputs } from './demo-inputs.js';

export const DEMO_CONFIG = 'configs/demo.json';
export const DEMO_INPUTS_DIR = 'runs/demo-inputs';

export interface DemoOptions {
  /** The repository root (where configs/ and bin/ are). */
  root: string;
  /** CI's quick variant: 3 samples, written under `outDir`. */
  smoke: boolean;
  /** Overrides the config's out_dir. */
  outDir?: string;
  /** Extra `--set key=value` assignments passed to `tpt run`. */
  sets: string[];
  out: NodeJS.WritableStream;
}

const USAGE = `usage: node scripts/demo.mjs [--smoke] [--out-dir <dir>] [--set key=value …]
  --smoke          quick check: 3 samples (CI)
  --out-dir <dir>  write the run folder under <dir> instead of runs/
  --set key=value  any config override, as for \`tpt run\``;

export function parseDemoArgs(argv: readonly string[], root: string, out: NodeJS.WritableStream): DemoOptions | string {
  const options: DemoOptions = { root, smoke: false, sets: [], out };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--smoke') options.smoke = true;
    else if (arg === '--out-dir' && argv[i + 1] !== undefined) options.outDir = argv[++i] as string;
    else if (arg === '--set' && argv[i + 1] !== undefined) options.sets.push(argv[++i] as string);
    else if (arg === '--help' || arg === '-h') return USAGE;
    else return `unknown argument "${arg}"\n${USAGE}`;
  }
  return options;
}

/** The `--set` list the demo passes to `tpt run`. */
export function demoSets(options: DemoOptions): string[] {
  const sets: string[] = [];
  if (options.smoke) sets.push('reduced_size=3');
  if (options.outDir !== undefined) sets.push(`out_dir=${JSON.stringify(options.outDir)}`);
  return [...sets, ...options.sets];
}

function runChild(command: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}

function formatPercent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** Runs the demo; returns the process exit code. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const say = (text = '') => options.out.write(`${text}\n`);
  const started = performance.now();
  try {
    say('tpt demo: the complete test-time prompt tuning pipeline on embedded inputs (nothing is downloaded).');
    const inputs = await ensureDemoInputs(join(options.root, DEMO_INPUTS_DIR));
    const images = Object.keys(inputs.files).filter((f) => f.startsWith(`${DEMO_DATASET_DIR}/`)).length;
    say(
      `${inputs.built ? 'built' : 'reusing'} demo inputs in ${DEMO_INPUTS_DIR}/: ${images} synthetic images in ${DEMO_WNIDS.length} ImageNet-A class folders, ` +
        'a small CLIP (ResNet 1-1-1-1, width 16, 64 px; text 2 layers, width 64, full 49,408-token vocabulary) with seeded random weights.',
    );
    const sets = demoSets(options);
    const args = ['bin/tpt.js', 'run', '--config', DEMO_CONFIG, '--fresh', ...sets.flatMap((s) => ['--set', s])];
    say(`\n$ tpt ${args.slice(1).join(' ')}`);
    const code = await runChild(process.execPath, args, options.root);
    if (code !== 0) {
      say(`\ntpt run failed (exit code ${code}); see its message above.`);
      return code;
    }

    const config = loadConfig(join(options.root, DEMO_CONFIG), sets);
    const { dir } = runFolderPath(config);
    const runDir = resolve(options.root, dir);
    const summaryPath = join(runDir, 'summary.json');
    if (!existsSync(summaryPath)) {
      say(`\nthe run finished but ${summaryPath} is missing`);
      return 1;
    }
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as RunSummary;
    // paths as the user would type them from the repository root
    const shown = isAbsolute(dir) ? dir : relative(options.root, runDir) || '.';
    say('\n── summary ──');
    say(`run folder   ${shown}/`);
    say(`samples      ${summary.samples_done}${summary.files_skipped ? ` (${summary.files_skipped} files skipped)` : ''}`);
    say(`top-1        base ${formatPercent(summary.top1_base)}  →  TPT ${formatPercent(summary.top1_tpt)}`);
    say(`top-5        base ${formatPercent(summary.top5_base)}  →  TPT ${formatPercent(summary.top5_tpt)}`);
    say(`changed      ${summary.improved} improved, ${summary.worsened} worsened`);
    say(`ECE          base ${summary.ece_base.toFixed(4)}, TPT ${summary.ece_tpt.toFixed(4)}`);
    say(`speed        ${summary.seconds_per_sample.toFixed(2)} s per sample on ${summary.backend}`);
    say('\n' + (await buildReport([runDir])).text.trimEnd());
    say('\nnext:');
    const outDir = isAbsolute(config.out_dir) ? config.out_dir : relative(options.root, resolve(options.root, config.out_dir)) || '.';
    const next: [string, string][] = [
      [`npx tpt report '${outDir}/${config.run_name}_*'`, 'this table again (also --format csv|json, --plot out.png)'],
      [`tensorboard --logdir ${outDir}`, 'scalars, texts, HParams (pip install tensorboard)'],
    ];
    const width = Math.max(...next.map(([command]) => command.length));
    for (const [command, comment] of next) say(`  ${command.padEnd(width)}   # ${comment}`);
    say('\nThese accuracies mean nothing: the demo model has random weights, the images are synthetic shapes, and');
    say("the 5 classes are simply where the random model's predictions pile up (so the counters move at all).");
    say('The demo exists to show the whole pipeline (data, views, CLIP, CoOp prompt, test-time tuning, metrics,');
    say('run folder, TensorBoard, report) working end to end. For real results see the README: RN50.pt, CoOp');
    say('weights and ImageNet-A, then `tpt run --config configs/baseline.json`.');
    say(`\n(demo took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return 0;
  } catch (e) {
    if (isTptError(e)) {
      say(`tpt demo: ${e.message}`);
      if (e.hint) say(`  → ${e.hint}`);
      return e.exitCode;
    }
    throw e;
  }
}
