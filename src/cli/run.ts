import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { CONFIG_KEYS, schemaDefaults } from '../config/schema.js';
import { BACKEND_CHOICES } from '../engine/choices.js';
import { createConsoleReporter } from '../run/console-reporter.js';
import { runTpt } from '../tta/coordinator.js';

const EXAMPLES = `
Examples:
  # The seed's baseline: AugmenterTPT, 63 views, defaultTPT loss, AugMix off
  $ tpt run --config configs/baseline.json

  # A quick look on 200 samples with another loss (values are JSON when they parse, else strings)
  $ tpt run --config configs/baseline.json --set reduced_size=200 --set loss=crossentropy_hard1

  # Patches with overlap, the seed's best patch setting, under a name prefix of your own
  $ tpt run --config configs/best-patch.json --set run_name=try1

  # Another test-time adaptation method with its official settings (tpt, c-tpt, r-tpt, zero, mta: config key method)
  $ tpt run --config configs/methods/zero.json --set imagenet_a_path=data/imagenet-a

  # Stopped, killed, preempted or out of disk? The same command continues after the last finished sample.
  $ tpt run --config configs/baseline.json
  # ... and --fresh throws the earlier results of that config away and starts over.
  $ tpt run --config configs/baseline.json --fresh

What it writes: <out_dir>/<run name>/ with config.json, samples.jsonl (one line per sample), skipped.jsonl,
summary.json, log.jsonl and TensorBoard event files (tensorboard --logdir runs). The run name is the seed's
generate_run_name of the settings, e.g. size=Full_augmenter=AugmenterTPT_loss=defaultTPT_naug=63_..., then
_method=<m> for another method and _cfg=<hash> of the other result-changing keys not at their defaults.

Robustness: a second run of the same config while the first still runs is refused, naming the holder (pid,
host, start time). A lock left by a killed run is taken over once its heartbeat is 5 minutes old (TPT_LOCK_STALE_MS),
or on the same host once its process is gone and two beats (10 s) are missed. A full disk, quota or read-only
folder stops the run with one line saying how many samples are saved; every file keeps whole records, and the
rerun resumes (it also cuts off a torn record a killed run left). Errors show a stack with --debug or TPT_DEBUG=1.

Config keys (JSON file and --set; defaults are the seed's default_args; image_size null = the weights' resolution):
`;

function configKeyList(): string {
  const defaults = schemaDefaults();
  const width = Math.max(...CONFIG_KEYS.map((k) => k.length));
  return CONFIG_KEYS.map((key) => `  ${key.padEnd(width)}  ${JSON.stringify(defaults[key])}`).join('\n');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .summary('test-time prompt tuning over a test set (ImageNet-A by default), as the seed notebook runs it')
    .description(
      "Tunes CLIP's prompt context on each test image (episodic TPT: reset, one AdamW step on the loss over the " +
        'augmented views, re-score) and records base and TPT predictions per sample, TensorBoard scalars and a summary. ' +
        'Ctrl-C or SIGTERM (Slurm, Kubernetes) stops after the sample in progress, saves, and exits 130 / 143; a second ' +
        'signal exits at once. Running the same command again resumes. One process at a time per run folder (a lock).',
    )
    .option('-c, --config <file>', 'JSON config file (any subset of the keys below; see configs/)')
    .option('-s, --set <key=value>', 'override one config key; repeat for more', collect)
    .option('--fresh', 'start over: delete earlier results of this config in its run folder')
    .option('--backend <name>', `engine of the towers, as --set backend=<name>: ${BACKEND_CHOICES.join(', ')}`)
    .addHelpText('after', () => `${EXAMPLES}${configKeyList()}\n\nThe full reference with meanings is in the README (generated from the schema).\n`)
    .action(async (opts: { config?: string; set?: string[]; fresh?: boolean; backend?: string }) => {
      const config = loadConfig(opts.config, [...(opts.set ?? []), ...(opts.backend !== undefined ? [`backend=${opts.backend}`] : [])]);
      const controller = new AbortController();
      const stopping = onStopSignals((signal) => {
        if (controller.signal.aborted) {
          // Second signal: exit now. Every write is one synchronous call and a signal is handled between
          // them, so the files hold whole records; the next run resumes after the last whole sample.
          process.stderr.write(`[tpt] ${signal} again: exiting now; run the same command again to resume\n`);
          process.exit(SIGNAL_EXIT_CODES[signal]);
        }
        process.stderr.write(`\n[tpt] ${signal}: stopping after the sample in progress and saving (${signal} again to exit at once)\n`);
        controller.abort(signal);
      });
      try {
        const result = await runTpt(config, {
          fresh: opts.fresh ?? false,
          signal: controller.signal,
          reporter: createConsoleReporter({ out: process.stdout, err: process.stderr, tty: process.stderr.isTTY === true }),
        });
        // 128 + the signal's number, the shell's convention (130 SIGINT, 143 SIGTERM); main() makes it the exit status.
        if (result.status === 'interrupted') {
          const signal = controller.signal.reason as StopSignal | undefined;
          process.exitCode = signal !== undefined && signal in SIGNAL_EXIT_CODES ? SIGNAL_EXIT_CODES[signal] : 130;
        }
      } finally {
        stopping.off();
      }
    });
}

type StopSignal = 'SIGINT' | 'SIGTERM';

/** Ctrl-C, and what Slurm (time limit, preemption, scancel) and Kubernetes (pod deletion) send: one path. */
const SIGNAL_EXIT_CODES: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

function onStopSignals(handler: (signal: StopSignal) => void): { off(): void } {
  const listeners = (Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]).map((signal) => {
    const listener = () => handler(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return {
    off: () => {
      for (const [signal, listener] of listeners) process.off(signal, listener);
    },
  };
}
