import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { FGVC_AIRCRAFT_CLASSNAMES } from '../../src/data/datasets/fine-grained-data.js';

/**
 * Miniatures of two cross-dataset sets from generated images, in the layouts researchers have on disk:
 * DTD (a CoOp split file) and FGVC-Aircraft (its text files). The split entries are what CoOp's files hold:
 * `[path relative to the image folder, integer label, CoOp's class name]`.
 */

/** DTD test entries: three classes (labels 0, 10 and 46: banded, dotted, zigzagged), two images each, in split order. */
export const DTD_ENTRIES: readonly (readonly [string, number, string])[] = [
  ['zigzagged/zigzagged_0001.jpg', 46, 'zigzagged'],
  ['banded/banded_0002.jpg', 0, 'banded'],
  ['dotted/dotted_0111.jpg', 10, 'dotted'],
  ['banded/banded_0004.jpg', 0, 'banded'],
  ['zigzagged/zigzagged_0007.jpg', 46, 'zigzagged'],
  ['dotted/dotted_0003.jpg', 10, 'dotted'],
];

/** FGVC-Aircraft test lines "<id> <variant>" (variants with a space and a slash, as the real file has). */
export const AIRCRAFT_LINES: readonly string[] = ['1514522 707-320', '0065006 Boeing 717', '1048211 F/A-18', '0453218 A320', '2193417 Boeing 717'];

export async function writeImage(path: string, seed: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const width = 40 + ((seed * 13) % 30);
  const height = 36 + ((seed * 7) % 20);
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * (seed + 3) + ((i / 3) | 0) * 7) & 0xff;
  writeFileSync(path, await sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
}

export interface SplitTree {
  /** The folder for `dataset_path`. */
  readonly root: string;
  /** The split file to name in `split_file` (TPT's layout), or null (CoOp's: it sits in the root). */
  readonly splitFile: string | null;
}

/**
 * DTD in CoOp's layout (`<root>/images/<class>/…`, `<root>/split_zhou_DescribableTextures.json`) or TPT's
 * (`<root>` is the image folder itself, the split file in a separate folder).
 */
export async function writeDtdTree(layout: 'coop' | 'tpt', entries = DTD_ENTRIES): Promise<SplitTree> {
  const base = mkdtempSync(join(tmpdir(), `tpt-dtd-${layout}-`));
  const root = join(base, 'dtd');
  const imageDir = layout === 'coop' ? join(root, 'images') : root;
  let seed = 1;
  for (const [file] of entries) await writeImage(join(imageDir, file), seed++);
  const split = JSON.stringify({ train: [['banded/banded_0001.jpg', 0, 'banded']], val: [], test: entries });
  const splitFile = layout === 'coop' ? join(root, 'split_zhou_DescribableTextures.json') : join(base, 'data_splits', 'split_zhou_DescribableTextures.json');
  mkdirSync(dirname(splitFile), { recursive: true });
  writeFileSync(splitFile, split);
  return { root, splitFile: layout === 'coop' ? null : splitFile };
}

/** FGVC-Aircraft's `data/` folder: `images/<id>.jpg`, `variants.txt` (the 100 in label order), `images_variant_test.txt`. */
export async function writeAircraftTree(lines = AIRCRAFT_LINES): Promise<string> {
  const root = join(mkdtempSync(join(tmpdir(), 'tpt-aircraft-')), 'fgvc-aircraft-2013b', 'data');
  mkdirSync(join(root, 'images'), { recursive: true });
  let seed = 11;
  for (const line of lines) await writeImage(join(root, 'images', `${line.split(' ')[0]}.jpg`), seed++);
  writeFileSync(join(root, 'variants.txt'), `${FGVC_AIRCRAFT_CLASSNAMES.join('\n')}\n`);
  writeFileSync(join(root, 'images_variant_test.txt'), `${lines.join('\n')}\n`);
  return root;
}
