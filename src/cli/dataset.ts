import { InvalidArgumentError, Option, type Command } from 'commander';
import { DECODE_CHECKS, DEFAULT_VERIFY_N_PATCHES, type DecodeCheck, type VerifyReport, formatVerifyReport, verifyDataset } from '../data/dataset-verify.js';
import { DATASET_NAMES, type DatasetName, allDatasets, getDataset } from '../data/datasets/registry.js';
import { extractDatasetArchive } from '../data/extract.js';
import { TptError } from '../errors.js';

interface VerifyCliOptions {
  dataset: DatasetName;
  allowPartial?: boolean;
  json?: boolean;
  decode: DecodeCheck;
  nPatches?: number;
}

interface ExtractCliOptions extends VerifyCliOptions {
  out: string;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

/** Progress on stderr, only for a terminal (keeps logs and --json output clean). */
function progressPrinter(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => {
    if (done === total || done % 100 === 0) process.stderr.write(`\r${label} ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

/** Prints the report and turns "not usable" into a non-zero exit (a TptError, so main maps it). */
function printVerdict(report: VerifyReport, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatVerifyReport(report)}\n`);
  if (!report.usable) {
    throw new TptError('DATASET_NOT_USABLE', `${report.root} is not a usable ${getDataset(report.dataset).title} folder`, {
      hint: 'see the errors listed above',
      exitCode: 1,
    });
  }
}

const decodeOption = (): Option =>
  new Option('--decode <check>', 'image check: none (list files), header (read headers), full (decode as a run does)')
    .choices(DECODE_CHECKS)
    .default('full');

const datasetOption = (): Option =>
  new Option('--dataset <name>', 'which test set the folder holds (config `dataset`)').choices(DATASET_NAMES).default('imagenet-a');

/** The layouts, for --help: each dataset's folders, classes and size. */
function layoutsHelp(): string {
  const rows = allDatasets().map(
    (s) => `  ${s.name.padEnd(16)} ${String(s.classes.length).padStart(4)} classes ${s.expectedImages.toLocaleString('en-US').padStart(7)} images  ${s.folderHint}`,
  );
  return `\nDatasets (--dataset):\n${rows.join('\n')}\n`;
}

/** `tpt dataset verify|extract`: check a dataset folder, or unpack its archive and check it. */
export function registerDataset(program: Command): void {
  const dataset = program
    .command('dataset')
    .description('Check a test-set folder (ImageNet-A by default), or unpack its archive (see `tpt dataset <command> --help`).');

  dataset
    .command('verify')
    .description(
      'Check a dataset folder (ImageNet-A\'s holds n01498041/, …): images per class against the published size, ' +
        'missing, empty or unknown class folders, files with other extensions, images that cannot be decoded. ' +
        'Exits with 1 when a run would refuse the folder.',
    )
    .argument('<path>', 'the dataset folder (config dataset_path, or imagenet_a_path for ImageNet-A)')
    .addOption(datasetOption())
    .option('--allow-partial', 'accept a subset of the classes (config allow_partial_dataset: true)')
    .option('--json', 'print the report as JSON (every problem; the text lists the first few of each kind)')
    .addOption(decodeOption())
    .option('--n-patches <n>', 'report images too small for this patch grid (config n_patches; floor(√n) pixels a side)', nonNegativeInt, DEFAULT_VERIFY_N_PATCHES)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ tpt dataset verify ./imagenet-a\n' +
        '  $ tpt dataset verify ./imagenet-a --decode header --json > report.json\n' +
        '  $ tpt dataset verify ./my-subset --allow-partial\n' +
        '  $ tpt dataset verify ./imagenetv2-matched-frequency-format-val --dataset imagenet-v2\n' +
        layoutsHelp(),
    )
    .action(async (path: string, opts: VerifyCliOptions) => {
      const report = await verifyDataset(path, {
        dataset: opts.dataset,
        allowPartial: opts.allowPartial ?? false,
        decode: opts.decode,
        nPatches: opts.nPatches,
        onProgress: progressPrinter('checking images'),
      });
      printVerdict(report, opts.json ?? false);
    });

  dataset
    .command('extract')
    .description(
      'Unpack a dataset archive (imagenet-a.tar, the one the seed downloads, by default; .tar.gz and .zip work too) ' +
        'into a folder, streaming, then verify the result. Prints the folder to use as dataset_path.',
    )
    .argument('<archive>', 'imagenet-a.tar, imagenet-r.tar, imagenetv2-matched-frequency.tar.gz, ImageNet-Sketch.zip, …')
    .requiredOption('--out <dir>', 'folder to unpack into (created if missing)')
    .addOption(datasetOption())
    .option('--allow-partial', 'accept a subset of the classes when verifying')
    .option('--json', 'print the verification report as JSON')
    .addOption(decodeOption())
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ curl -LO https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar\n' +
        '  $ tpt dataset extract imagenet-a.tar --out .          # creates ./imagenet-a/\n' +
        '  $ tpt dataset extract imagenet-a.tar --out data --decode header\n' +
        '  $ tpt dataset extract imagenetv2-matched-frequency.tar.gz --dataset imagenet-v2 --out data\n' +
        '  $ tpt dataset extract ImageNet-Sketch.zip --dataset imagenet-sketch --out data   # creates ./data/sketch/\n' +
        layoutsHelp(),
    )
    .action(async (archive: string, opts: ExtractCliOptions) => {
      const onEntry = process.stderr.isTTY
        ? (_path: string, count: number) => {
            if (count % 500 === 0) process.stderr.write(`\runpacked ${count} entries`);
          }
        : undefined;
      const result = await extractDatasetArchive(archive, opts.out, { onEntry, dataset: opts.dataset });
      process.stderr.write(`${onEntry ? '\n' : ''}unpacked ${result.entries} entries; dataset folder: ${result.datasetRoot}\n`);
      const report = await verifyDataset(result.datasetRoot, {
        dataset: opts.dataset,
        allowPartial: opts.allowPartial ?? false,
        decode: opts.decode,
        onProgress: progressPrinter('checking images'),
      });
      printVerdict(report, opts.json ?? false);
      if (!opts.json) {
        const keys = opts.dataset === 'imagenet-a' ? `imagenet_a_path: "${result.datasetRoot}"` : `dataset: "${opts.dataset}", dataset_path: "${result.datasetRoot}"`;
        process.stdout.write(`Set ${keys} in your config.\n`);
      }
    });
}
