import type { Command } from 'commander';
import { previewViews } from '../preview.js';
import { DEFAULT_DATASET } from '../data/datasets/registry.js';

interface PreviewCliOptions {
  config: string;
  image: string;
  grid?: string;
  tensors?: string;
  set: string[];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `tpt preview`: show exactly the views the engine makes for one image. */
export function registerPreview(program: Command): void {
  program
    .command('preview')
    .description(
      'Make the views the engine would feed the model for one image (same augmenter, size, seed and ' +
        'per-sample random stream) and save them as a picture and/or as tensors. The config may hold only ' +
        'the augmenter keys (augmenter, n_aug, n_patches, overlap, augmix, severity) plus seed and image_size ' +
        "(null, the default, is RN50's 224 here: preview reads no weights).",
    )
    .requiredOption('--config <file>', 'JSON config (any subset of the run config keys)')
    .requiredOption('--image <path>', 'the image (JPEG, PNG, ...)')
    .option('--grid <out.png>', 'write the views as a picture: view 0 on top, the others in rows (as the seed\'s show_imgs)')
    .option('--tensors <out.npy>', 'write the views as float32 [V, 3, S, S], normalised exactly as fed to the model')
    .option('--set <key=value>', 'override a config key (repeatable)', collect, [])
    .addHelpText(
      'after',
      '\nThe random stream is Rng.forSample(seed, identity) with identity = "<wnid>/<file>" for an image in a\n' +
        'WordNet-id folder (as a run names its samples), else the file name.\n' +
        '\nExamples:\n' +
        `  $ tpt preview --config configs/baseline.json --image ${DEFAULT_DATASET}/n01498041/0.000116.jpg --grid views.png\n` +
        '  $ tpt preview --config my.json --image cat.jpg --tensors views.npy --set augmenter=PatchAugmenter --set n_patches=9',
    )
    .action(async (opts: PreviewCliOptions) => {
      const result = await previewViews({
        configPath: opts.config,
        imagePath: opts.image,
        sets: opts.set,
        ...(opts.grid !== undefined ? { gridPath: opts.grid } : {}),
        ...(opts.tensors !== undefined ? { tensorsPath: opts.tensors } : {}),
      });
      const lines = [
        `${result.augmenter}: ${result.viewCount} views of ${result.size}x${result.size} from ${opts.image} ` +
          `(${result.imageWidth}x${result.imageHeight}), seed ${result.seed}, sample identity "${result.identity}"`,
      ];
      if (result.gridPath) lines.push(`grid: ${result.gridPath} (view 0 on top, then ${result.imagesPerRow} per row)`);
      if (result.tensorsPath) lines.push(`tensors: ${result.tensorsPath} float32 [${result.viewCount}, 3, ${result.size}, ${result.size}]`);
      if (!result.gridPath && !result.tensorsPath) lines.push('nothing written: add --grid <out.png> and/or --tensors <out.npy>');
      process.stdout.write(lines.join('\n') + '\n');
    });
}
