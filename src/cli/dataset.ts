import { InvalidArgumentError, Option, type Command } from 'commander';
import { DECODE_CHECKS, DEFAULT_VERIFY_N_PATCHES, type DecodeCheck, type VerifyReport, formatVerifyReport, verifyDataset } from '../data/dataset-verify.js';
import { DATASET_NAMES, type DatasetName, type DatasetSpec, DEFAULT_DATASET, allDatasets, getDataset } from '../data/datasets/registry.js';
import { extractDatasetArchive } from '../data/extract.js';
import { TptError } from '../errors.js';

interface VerifyCliOptions {
  dataset: DatasetName;
  splitFile?: string;
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
  new Option('--dataset <name>', 'which test set the folder holds (config `dataset`)').choices(DATASET_NAMES).default(DEFAULT_DATASET);

const splitFileOption = (): Option =>
  new Option('--split-file <file>', "split-file sets: the split file (config `split_file`; default: looked up in the dataset folder, as CoOp's layout has it)");

/** How a dataset's samples are listed, for --help. */
function listedBy(s: DatasetSpec): string {
  if (s.listing.kind === 'folder-tree') return s.listing.folders === 'wnid' ? 'wnid folders' : 'class-index folders';
  return s.listing.splitFile;
}

/** The layouts, for --help: each dataset's listing, classes and size. */
function layoutsHelp(): string {
  const rows = allDatasets().map(
    (s) =>
      `  ${s.name.padEnd(16)} ${String(s.classes.length).padStart(4)} classes ${s.expectedImages.toLocaleString('en-US').padStart(7)} images  ${listedBy(s).padEnd(36)} ${s.folderHint}`,
  );
  return `\nDatasets (--dataset):\n${rows.join('\n')}\n`;
}

/** One dataset of each way of listing samples, for the examples. */
function exampleSets(): { seed: DatasetSpec; split: DatasetSpec; other: DatasetSpec } {
  const seed = getDataset(DEFAULT_DATASET);
  const find = (ok: (s: DatasetSpec) => boolean): DatasetSpec => allDatasets().find(ok) ?? seed;
  return {
    seed,
    split: find((s) => s.listing.kind === 'split-json' && s.listing.imageDir !== ''),
    other: find((s) => s.listing.kind === 'folder-tree' && s.listing.folders === 'class-index'),
  };
}

function verifyExamples(): string {
  const { seed, split, other } = exampleSets();
  const imageDir = split.listing.kind === 'folder-tree' ? '' : split.listing.imageDir;
  const splitFile = split.listing.kind === 'folder-tree' ? '' : split.listing.splitFile;
  return (
    '\nExamples:\n' +
    `  $ tpt dataset verify ./${seed.name}\n` +
    `  $ tpt dataset verify ./${seed.name} --decode header --json > report.json\n` +
    '  $ tpt dataset verify ./my-subset --allow-partial\n' +
    `  $ tpt dataset verify ./${other.name} --dataset ${other.name}\n` +
    `  $ tpt dataset verify ./${split.name} --dataset ${split.name}            # CoOp's layout: ${imageDir}/ and ${splitFile}\n` +
    `  $ tpt dataset verify ./${split.name}/${imageDir} --dataset ${split.name} --split-file splits/${splitFile}   # TPT's\n` +
    layoutsHelp()
  );
}

function extractExamples(): string {
  const { seed, split, other } = exampleSets();
  return (
    '\nExamples:\n' +
    `  $ curl -LO ${seed.download}\n` +
    `  $ tpt dataset extract ${seed.archive} --out .\n` +
    `  $ tpt dataset extract ${seed.archive} --out data --decode header\n` +
    `  $ tpt dataset extract ${other.archive} --dataset ${other.name} --out data\n` +
    `  $ tpt dataset extract ${split.archive.split(' + ')[0]} --dataset ${split.name} --out data   # then put ${split.listing.kind === 'folder-tree' ? '' : split.listing.splitFile} beside its image folder\n` +
    layoutsHelp()
  );
}

/** `tpt dataset verify|extract`: check a dataset folder, or unpack its archive and check it. */
export function registerDataset(program: Command): void {
  const dataset = program
    .command('dataset')
    .description(`Check a test-set folder (${getDataset(DEFAULT_DATASET).title} by default), or unpack its archive (see \`tpt dataset <command> --help\`).`);

  dataset
    .command('verify')
    .description(
      'Check a dataset folder (class folders, or a split file and its images): images per class against the published size, ' +
        'missing, empty or unknown class folders, split entries whose image is missing, files with other extensions, ' +
        'images that cannot be decoded. Exits with 1 when a run would refuse the folder.',
    )
    .argument('<path>', `the dataset folder (config dataset_path, or ${getDataset(DEFAULT_DATASET).pathKey} for ${getDataset(DEFAULT_DATASET).title})`)
    .addOption(datasetOption())
    .addOption(splitFileOption())
    .option('--allow-partial', 'accept a subset of the classes (config allow_partial_dataset: true)')
    .option('--json', 'print the report as JSON (every problem; the text lists the first few of each kind)')
    .addOption(decodeOption())
    .option('--n-patches <n>', 'report images too small for this patch grid (config n_patches; floor(√n) pixels a side)', nonNegativeInt, DEFAULT_VERIFY_N_PATCHES)
    .addHelpText('after', verifyExamples)
    .action(async (path: string, opts: VerifyCliOptions) => {
      const report = await verifyDataset(path, {
        dataset: opts.dataset,
        splitFile: opts.splitFile ?? null,
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
      `Unpack a dataset archive (${getDataset(DEFAULT_DATASET).archive}, the one the seed downloads, by default; .tar, .tar.gz and .zip) ` +
        'into a folder, streaming, then verify the result. Prints the folder to use as dataset_path.',
    )
    .argument('<archive>', `the dataset's archive: ${allDatasets().slice(0, 3).map((s) => s.archive).join(', ')}, …`)
    .requiredOption('--out <dir>', 'folder to unpack into (created if missing)')
    .addOption(datasetOption())
    .addOption(splitFileOption())
    .option('--allow-partial', 'accept a subset of the classes when verifying')
    .option('--json', 'print the verification report as JSON')
    .addOption(decodeOption())
    .addHelpText('after', extractExamples)
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
        splitFile: opts.splitFile ?? null,
        allowPartial: opts.allowPartial ?? false,
        decode: opts.decode,
        onProgress: progressPrinter('checking images'),
      });
      printVerdict(report, opts.json ?? false);
      if (!opts.json) {
        const spec = getDataset(opts.dataset);
        const keys = spec.pathKey === 'imagenet_a_path' ? `imagenet_a_path: "${result.datasetRoot}"` : `dataset: "${opts.dataset}", dataset_path: "${result.datasetRoot}"`;
        process.stdout.write(`Set ${keys} in your config.\n`);
      }
    });
}
