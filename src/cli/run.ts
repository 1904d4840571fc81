import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { CONFIG_KEYS, defaultConfig } from '../config/schema.js';
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

  # Stopped or killed? The same command continues after the last finished sample.
  $ tpt run --config configs/baseline.json
  # ... and --fresh throws the earlier results of that config away and starts over.
  $ tpt run --config configs/baseline.json --fresh

What it writes: <out_dir>/<run name>/ with config.json, samples.jsonl (one line per sample), skipped.jsonl,
summary.json, log.jsonl and TensorBoard event files (tensorboard --logdir runs). The run name is the seed's
generate_run_name of the settings, e.g. size=Full_augmenter=AugmenterTPT_loss=defaultTPT_naug=63_...

Config keys (JSON file and --set; defaults are the seed's default_args):
`;

function configKeyList(): string {
  const defaults = defaultConfig();
  const width = Math.max(...CONFIG_KEYS.map((k) => k.length));
  return CONFIG_KEYS.map((key) => `  ${key.padEnd(width)}  ${JSON.stringify(defaults[key])}`).join('\n');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .summary('test-time prompt tuning over ImageNet-A, as the seed notebook runs it')
    .description(
      "Tunes CLIP's prompt context on each test image (episodic TPT: reset, one AdamW step on the loss over the " +
        'augmented views, re-score) and records base and TPT predictions per sample, TensorBoard scalars and a summary. ' +
        'Ctrl-C stops after the current sample; running the same command again resumes.',
    )
    .option('-c, --config <file>', 'JSON config file (any subset of the keys below; see configs/)')
    .option('-s, --set <key=value>', 'override one config key; repeat for more', collect)
    .option('--fresh', 'start over: delete earlier results of this config in its run folder')
    .option('--backend <name>', `engine of the towers, as --set backend=<name>: ${BACKEND_CHOICES.join(', ')}`)
    .addHelpText('after', () => `${EXAMPLES}${configKeyList()}\n\nThe full reference with meanings is in the README (generated from the schema).\n`)
    .action(async (opts: { config?: string; set?: string[]; fresh?: boolean; backend?: string }) => {
      const config = loadConfig(opts.config, [...(opts.set ?? []), ...(opts.backend !== undefined ? [`backend=${opts.backend}`] : [])]);
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) {
          // Second Ctrl-C: stop now. Everything written so far is whole; the next run resumes from it.
          process.off('SIGINT', onSigint);
          process.kill(process.pid, 'SIGINT');
          return;
        }
        process.stderr.write('\n[tpt] stopping after the sample in progress (Ctrl-C again to stop at once)\n');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const result = await runTpt(config, {
          fresh: opts.fresh ?? false,
          signal: controller.signal,
          reporter: createConsoleReporter({ out: process.stdout, err: process.stderr, tty: process.stderr.isTTY === true }),
        });
        // 130 = interrupted by SIGINT, the shell's convention; main() turns exitCode into the exit status.
        if (result.status === 'interrupted') process.exitCode = 130;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
