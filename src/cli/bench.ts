import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { BACKEND_CHOICES, isBackendChoice, type BackendChoice } from '../engine/choices.js';
import { BENCH_ARCH_NAMES } from '../bench/bench-model.js';
import { formatBench } from '../bench/format-bench.js';
import { runBench } from '../bench/run-bench.js';
import { DATASET_NAMES, DEFAULT_DATASET, datasetClassnames, isDatasetName, type DatasetName } from '../data/datasets/registry.js';
import { TptError } from '../errors.js';
import { isMethodName, METHOD_NAMES } from '../tta/methods/names.js';

interface BenchCliOptions {
  arch: string;
  method: string;
  views: string;
  classes?: string;
  dataset?: string;
  samples: string;
  workers?: string;
  threads?: string;
  backend: string;
  seed: string;
  json?: boolean;
  warmup: boolean;
}

function integerOption(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value)) throw new TptError('BENCH_OPTIONS', `--${name} must be an integer, got "${text}"`, { hint: `Pass e.g. --${name} 2.` });
  return value;
}

/** `tpt bench`: time the per-sample loop on a random-weight model of a real architecture. */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .summary('time the per-sample loop of a method (default TPT) at real model sizes (random weights, synthetic images)')
    .description(
      "Builds a CLIP of the architecture's exact shapes with seeded random weights (no files needed), tokenizes " +
        "the prompts of a dataset's classes, and runs `tpt run`'s complete per-sample loop on synthetic ~500x375 JPEGs: " +
        'decode, AugmenterTPT views, base logits, one AdamW step of defaultTPT, TPT logits. Reports seconds per ' +
        'sample (wall time / samples), where the time goes, peak memory, the backend and the workers.',
    )
    .option('--arch <name>', `architecture: ${BENCH_ARCH_NAMES.join(', ')}`, 'RN50')
    .option('--method <name>', `test-time adaptation method, with its official hyperparameters: ${METHOD_NAMES.join(', ')}`, 'tpt')
    .option('--views <n>', 'views per sample (1 + n_aug)', '64')
    .option('--classes <n>', `class prompts: the first n classes of --dataset (default: all of them; ${datasetClassnames(DEFAULT_DATASET).length} without --dataset)`)
    .option(
      '--dataset <name>',
      `whose class names and views rule (AugMix on for the cross-dataset sets): ${DATASET_NAMES.join(', ')} (default: ${DEFAULT_DATASET}'s names without AugMix, the first larger set's beyond its ${datasetClassnames(DEFAULT_DATASET).length} classes)`,
    )
    .option('--samples <n>', 'samples to time', '4')
    .option('--workers <n>', 'samples in parallel on tfjs (default: one per core on CPU backends, 1 on a GPU)')
    .option('--threads <n>', 'intra-op threads of the onnxruntime engine (default: one per core)')
    .option('--backend <name>', `engine: ${BACKEND_CHOICES.join(', ')}`, 'auto')
    .option('--seed <n>', 'seed of the weights and images', '0')
    .option('--no-warmup', 'time from the first sample on (by default each worker first tunes one untimed sample)')
    .option('--json', 'print one JSON line (key seconds_per_sample, breakdown, peak_rss_mb, ...)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ tpt bench --arch RN50 --samples 2 --json\n' +
        '  $ tpt bench --arch RN50 --backend onnxruntime --method zero --samples 2 --json\n' +
        '  $ tpt bench --workers 1 --samples 2            # one model, preprocessing in the same thread\n' +
        '  $ tpt bench --backend onnxruntime --arch ViT-B/16 --classes 1000 --samples 2\n' +
        `  $ tpt bench --backend onnxruntime --dataset ${DATASET_NAMES.at(-1) ?? DEFAULT_DATASET} --samples 2   # at that set's class count and views\n` +
        `\nCompare with the seed's PyTorch loop on the same machine (development only, needs torch):\n` +
        '  $ OMP_NUM_THREADS=2 /usr/bin/python3 scripts/bench-pytorch-reference.py --samples 2 --json\n' +
        `This machine has ${availableParallelism()} CPUs.`,
    )
    .action(async (opts: BenchCliOptions) => {
      if (!isBackendChoice(opts.backend)) {
        throw new TptError('BENCH_OPTIONS', `--backend must be one of ${BACKEND_CHOICES.join(', ')}, got "${opts.backend}"`, { hint: 'Use --backend wasm.' });
      }
      if (!isMethodName(opts.method)) {
        throw new TptError('BENCH_OPTIONS', `--method must be one of ${METHOD_NAMES.join(', ')}, got "${opts.method}"`, { hint: 'Use --method zero, for example.' });
      }
      if (opts.dataset !== undefined && !isDatasetName(opts.dataset)) {
        throw new TptError('BENCH_OPTIONS', `--dataset must be one of ${DATASET_NAMES.join(', ')}, got "${opts.dataset}"`, { hint: `Use one of the registry's datasets, e.g. --dataset ${DEFAULT_DATASET}.` });
      }
      const result = await runBench({
        method: opts.method,
        ...(opts.dataset !== undefined ? { dataset: opts.dataset as DatasetName } : {}),
        arch: opts.arch,
        views: integerOption('views', opts.views),
        classes:
          opts.classes !== undefined
            ? integerOption('classes', opts.classes)
            : datasetClassnames(opts.dataset !== undefined && isDatasetName(opts.dataset) ? opts.dataset : DEFAULT_DATASET).length,
        samples: integerOption('samples', opts.samples),
        workers: opts.workers === undefined ? 0 : integerOption('workers', opts.workers),
        ...(opts.threads !== undefined ? { threads: integerOption('threads', opts.threads) } : {}),
        backend: opts.backend as BackendChoice,
        seed: integerOption('seed', opts.seed),
        warmup: opts.warmup,
        ...(opts.json ? {} : { onProgress: (done: number, total: number) => process.stderr.write(`\r[tpt bench] ${done}/${total} samples`) }),
      });
      if (!opts.json) process.stderr.write('\n');
      process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : formatBench(result));
    });
}
