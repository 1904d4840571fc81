import { Option, type Command } from 'commander';
import { DECODE_CHECKS, type DecodeCheck, type VerifyReport, formatVerifyReport, verifyImageNetA } from '../data/dataset-verify.js';
import { extractImageNetAArchive } from '../data/extract.js';
import { TptError } from '../errors.js';

interface VerifyCliOptions {
  allowPartial?: boolean;
  json?: boolean;
  decode: DecodeCheck;
}

interface ExtractCliOptions extends VerifyCliOptions {
  out: string;
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
    throw new TptError('DATASET_NOT_USABLE', `${report.root} is not a usable ImageNet-A folder`, {
      hint: 'see the errors listed above',
      exitCode: 1,
    });
  }
}

const decodeOption = (): Option =>
  new Option('--decode <check>', 'image check: none (list files), header (read headers), full (decode as a run does)')
    .choices(DECODE_CHECKS)
    .default('full');

/** `tpt dataset verify|extract`: check an ImageNet-A folder, or unpack the archive and check it. */
export function registerDataset(program: Command): void {
  const dataset = program
    .command('dataset')
    .description('Check an ImageNet-A folder, or unpack the ImageNet-A archive (see `tpt dataset <command> --help`).');

  dataset
    .command('verify')
    .description(
      'Check an ImageNet-A folder (the one that holds n01498041/, …): images per class, missing, empty or ' +
        'unknown class folders, files with other extensions, images that cannot be decoded. Exits with 1 ' +
        'when a run would refuse the folder.',
    )
    .argument('<path>', 'the ImageNet-A folder (config imagenet_a_path)')
    .option('--allow-partial', 'accept a subset of the 200 classes (config allow_partial_dataset: true)')
    .option('--json', 'print the report as JSON')
    .addOption(decodeOption())
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ tpt dataset verify ./imagenet-a\n' +
        '  $ tpt dataset verify ./imagenet-a --decode header --json > report.json\n' +
        '  $ tpt dataset verify ./my-subset --allow-partial\n',
    )
    .action(async (path: string, opts: VerifyCliOptions) => {
      const report = await verifyImageNetA(path, {
        allowPartial: opts.allowPartial ?? false,
        decode: opts.decode,
        onProgress: progressPrinter('checking images'),
      });
      printVerdict(report, opts.json ?? false);
    });

  dataset
    .command('extract')
    .description(
      'Unpack imagenet-a.tar (the archive the seed downloads; .tar.gz works too) into a folder, streaming, ' +
        'then verify the result. Prints the folder to use as imagenet_a_path.',
    )
    .argument('<archive>', 'imagenet-a.tar')
    .requiredOption('--out <dir>', 'folder to unpack into (created if missing)')
    .option('--allow-partial', 'accept a subset of the 200 classes when verifying')
    .option('--json', 'print the verification report as JSON')
    .addOption(decodeOption())
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ curl -LO https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar\n' +
        '  $ tpt dataset extract imagenet-a.tar --out .          # creates ./imagenet-a/\n' +
        '  $ tpt dataset extract imagenet-a.tar --out data --decode header\n',
    )
    .action(async (archive: string, opts: ExtractCliOptions) => {
      const onEntry = process.stderr.isTTY
        ? (_path: string, count: number) => {
            if (count % 500 === 0) process.stderr.write(`\runpacked ${count} entries`);
          }
        : undefined;
      const result = await extractImageNetAArchive(archive, opts.out, { onEntry });
      process.stderr.write(`${onEntry ? '\n' : ''}unpacked ${result.entries} entries; dataset folder: ${result.datasetRoot}\n`);
      const report = await verifyImageNetA(result.datasetRoot, {
        allowPartial: opts.allowPartial ?? false,
        decode: opts.decode,
        onProgress: progressPrinter('checking images'),
      });
      printVerdict(report, opts.json ?? false);
      if (!opts.json) process.stdout.write(`Set imagenet_a_path: "${result.datasetRoot}" in your config.\n`);
    });
}
