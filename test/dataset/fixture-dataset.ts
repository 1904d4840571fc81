/** Builds small ImageNet-A-shaped folders in a temp dir for the dataset tests (tiny images made with sharp). */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export async function tinyImage(format: 'png' | 'jpeg', shade = 128): Promise<Buffer> {
  const img = sharp({ create: { width: 6, height: 4, channels: 3, background: { r: shade, g: 255 - shade, b: 40 } } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg().toBuffer();
}

export async function writeFiles(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), content);
  }
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tpt-${prefix}-`));
}

/**
 * Three populated classes (stingray n01498041, goldfinch n01531178, acorn n12267677), an empty class folder
 * (junco n01534433), an unknown folder, a text file in a class, an undecodable .jpg, a stray top-level image
 * and a README (which must not be reported). The other 196 classes are missing.
 */
export async function makeFixtureDataset(): Promise<string> {
  const root = await tempDir('imagenet-a');
  const png = await tinyImage('png');
  const jpg = await tinyImage('jpeg', 60);
  await writeFiles(root, {
    'README.txt': 'ImageNet-A\n',
    'stray.jpg': jpg,
    'n01498041/b.png': png,
    'n01498041/a.jpg': jpg,
    'n01498041/C.JPEG': jpg, // upper case sorts first (code points) and the extension matches in any case
    'n01498041/notes.txt': 'not an image',
    // os.walk recurses and torchvision sorts the (dirpath, …) tuples: dirpaths "sub" < "sub-x" < "sub/deep"
    // ('-' < '/'), which is not depth-first order.
    'n01498041/sub/d.png': png,
    'n01498041/sub/deep/f.png': png,
    'n01498041/sub-x/e.webp': await sharp(png).webp().toBuffer(),
    'n01531178/0002.png': png,
    'n01531178/0001.jpeg': jpg,
    'n01531178/broken.jpg': Buffer.from('this is not a JPEG at all'),
    'n12267677/x.tif': await sharp(png).tiff().toBuffer(),
    'extras/z.png': png,
  });
  await mkdir(join(root, 'n01534433'));
  return root;
}
