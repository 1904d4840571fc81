/**
 * The demo's dataset: a few real class folders (WordNet ids) of the seed's dataset (the registry's default,
 * ImageNet-A), each with a few synthetic images of mixed sizes, aspect ratios and formats, laid out exactly
 * like the real folder so the ordinary dataset loader reads it (with `allow_partial_dataset`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../data/rng.js';
import { DEFAULT_DATASET, getDataset } from '../data/datasets/registry.js';
import { drawSyntheticImage, SHAPE_KINDS } from './synthetic-image.js';
import type { ShapeKind } from './synthetic-image.js';

export interface DemoImage {
  /** Path relative to the dataset root, forward slashes (`<wnid>/<name>`). */
  file: string;
  width: number;
  height: number;
  format: 'jpeg' | 'png';
}

/**
 * Five real ImageNet-A classes, so labels and prompts are the real ones: porcupine, African bush elephant,
 * obelisk, parachute, spatula. Why these: a CLIP with random weights sends almost every image to the same few
 * classes (its features share one dominant direction), and these are the demo model's favourites. With
 * them, the summary's counters (top-1/top-5 hits, samples TPT improved or worsened) are not all zero, so the
 * demo shows them at work. The accuracies still mean nothing: they measure where a random model's
 * predictions pile up, not recognition.
 */
export const DEMO_WNIDS: readonly string[] = ['n02346627', 'n02504458', 'n03837869', 'n03888257', 'n04270147'];

/** Width × height pairs from tall to wide, small to photo-sized. */
const DEMO_SIZES: readonly (readonly [number, number])[] = [
  [48, 96],
  [400, 300],
  [160, 160],
  [96, 48],
  [300, 200],
  [128, 256],
  [256, 192],
  [72, 120],
];

export const DEMO_IMAGES_PER_CLASS = 3;

/** The dataset's file list, in the order it is generated (a pure function of the constants above). */
export function demoImageList(): DemoImage[] {
  const images: DemoImage[] = [];
  let n = 0;
  for (const wnid of DEMO_WNIDS) {
    if (!getDataset(DEFAULT_DATASET).classes.some((c) => c.wnid === wnid)) throw new Error(`demo: ${wnid} is not a class of ${DEFAULT_DATASET}`);
    for (let k = 0; k < DEMO_IMAGES_PER_CLASS; k++, n++) {
      const [width, height] = DEMO_SIZES[n % DEMO_SIZES.length] as readonly [number, number];
      const format = n % 3 === 2 ? 'png' : 'jpeg';
      const name = `demo_${wnid}_${k}.${format === 'png' ? 'png' : 'jpg'}`;
      images.push({ file: `${wnid}/${name}`, width, height, format });
    }
  }
  return images;
}

/** Encodes one demo image; the bytes depend only on the seed, the image's position and sharp's encoders. */
export async function encodeDemoImage(image: DemoImage, seed: number): Promise<Buffer> {
  const classIndex = DEMO_WNIDS.indexOf(image.file.split('/')[0] ?? '');
  const motif = SHAPE_KINDS[Math.max(0, classIndex) % SHAPE_KINDS.length] as ShapeKind;
  const hue = Math.max(0, classIndex) / DEMO_WNIDS.length;
  const rng = Rng.forSample(seed, `demo-image:${image.file}`);
  const pixels = drawSyntheticImage({ width: image.width, height: image.height, motif, hue }, rng);
  const raw = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  // Fixed encoder settings (no metadata, no adaptive choices) keep the bytes stable between runs.
  return image.format === 'png'
    ? raw.png({ compressionLevel: 9, adaptiveFiltering: false, palette: false }).toBuffer()
    : raw.jpeg({ quality: 90, chromaSubsampling: '4:2:0', mozjpeg: false }).toBuffer();
}

/** Writes the whole dataset under `root` (`root/<wnid>/<file>`); returns the images written. */
export async function writeDemoDataset(root: string, seed: number): Promise<DemoImage[]> {
  const images = demoImageList();
  for (const image of images) {
    const bytes = await encodeDemoImage(image, seed);
    const path = join(root, ...image.file.split('/'));
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, bytes);
  }
  return images;
}
