/**
 * `tpt preview`: the views the engine would make for one image, as a picture and/or as the exact tensors.
 *
 * The views come from the same augmenter, size and random stream the engine uses: the stream is
 * `Rng.forSample(seed, identity)` where the identity is what the engine uses for a dataset sample: its path
 * relative to the folder the config's dataset lists its samples from (the class folders' parent, or a
 * split-file set's image folder). For an image outside that folder: inside a WordNet-id folder
 * (`…/n01498041/0.000116.jpg`) it is `n01498041/0.000116.jpg`; for any other image the file's basename.
 */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { loadConfig } from './config/load.js';
import { DEFAULT_IMAGE_SIZE, datasetFolder, type TptConfig } from './config/schema.js';
import { datasetImageRoot } from './data/dataset.js';
import { createAugmenter, type Views } from './data/augmenters.js';
import { viewsGridPng } from './data/grid.js';
import { decodeImage } from './data/image.js';
import { encodeNpy } from './data/npy.js';
import { Rng } from './data/rng.js';
import { TptError } from './errors.js';

export interface PreviewOptions {
  configPath: string;
  imagePath: string;
  /** `--set key=value` overrides, in order. */
  sets?: readonly string[];
  gridPath?: string;
  tensorsPath?: string;
}

export interface PreviewResult {
  augmenter: TptConfig['augmenter'];
  viewCount: number;
  size: number;
  seed: number;
  identity: string;
  imageWidth: number;
  imageHeight: number;
  imagesPerRow: number;
  gridPath?: string;
  tensorsPath?: string;
}

const WNID = /^n\d{8}$/;

/** The engine's sample identity for an image file (see the module comment). */
export function previewIdentity(imagePath: string): string {
  const parent = basename(dirname(imagePath));
  return WNID.test(parent) ? `${parent}/${basename(imagePath)}` : basename(imagePath);
}

/** Row length of the picture: 4 as the seed's default; PatchAugmenter rows hold a patch and its copies. */
export function imagesPerRowFor(config: Pick<TptConfig, 'augmenter' | 'n_aug' | 'n_patches'>): number {
  if (config.augmenter === 'AugmenterTPT') return 4;
  if (config.n_aug > 0) return 1 + config.n_aug;
  return Math.max(1, Math.floor(Math.sqrt(config.n_patches)));
}

/** NHWC [V, S, S, 3] → NCHW [V, 3, S, S], the layout of the seed's tensors. */
export function viewsToNchw(views: Views): Float32Array {
  const { count, size, data } = views;
  const plane = size * size;
  const out = new Float32Array(data.length);
  for (let v = 0; v < count; v++) {
    const base = v * plane * 3;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) out[base + c * plane + p] = data[base + p * 3 + c] as number;
    }
  }
  return out;
}

async function writeOutput(path: string, bytes: Buffer, what: string): Promise<void> {
  try {
    await writeFile(path, bytes);
  } catch (e) {
    throw new TptError('OUTPUT_WRITE', `Cannot write the ${what} to ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: 'Check that the folder exists and is writable.',
    });
  }
}

export async function previewViews(options: PreviewOptions): Promise<PreviewResult> {
  const config = loadConfig(options.configPath, options.sets ?? [], { partial: true });
  const image = await decodeImage(options.imagePath);
  // Preview reads no weights: null (the weights' resolution) means RN50's 224.
  const size = config.image_size ?? DEFAULT_IMAGE_SIZE;
  const augmenter = createAugmenter(config, size);
  const inDataset = relative(resolve(await datasetImageRoot(datasetFolder(config), config.dataset)), resolve(options.imagePath));
  const identity = inDataset !== '' && !inDataset.startsWith('..') && !isAbsolute(inDataset) ? inDataset.split(sep).join('/') : previewIdentity(options.imagePath);
  const views = augmenter.makeViews(image, Rng.forSample(config.seed, identity));
  if (views.count !== augmenter.viewCount()) {
    throw new Error(`augmenter made ${views.count} views, expected ${augmenter.viewCount()}`);
  }
  const imagesPerRow = imagesPerRowFor(config);
  const result: PreviewResult = {
    augmenter: config.augmenter,
    viewCount: views.count,
    size,
    seed: config.seed,
    identity,
    imageWidth: image.width,
    imageHeight: image.height,
    imagesPerRow,
  };
  if (options.gridPath !== undefined) {
    await writeOutput(options.gridPath, await viewsGridPng(views.data, views.count, size, imagesPerRow), 'grid picture');
    result.gridPath = options.gridPath;
  }
  if (options.tensorsPath !== undefined) {
    const npy = encodeNpy({ dtype: 'float32', shape: [views.count, 3, size, size], data: viewsToNchw(views) });
    await writeOutput(options.tensorsPath, npy, 'tensors');
    result.tensorsPath = options.tensorsPath;
  }
  return result;
}
