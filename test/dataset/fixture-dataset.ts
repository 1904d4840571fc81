/** Builds small ImageNet-A-shaped folders in a temp dir for the dataset tests (tiny images made with sharp). */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import crc32 from 'crc-32';
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

/** A zip of stored (uncompressed) entries, as `zip -0` writes it: local headers, data, central directory, end record. */
export function storedZip(files: Record<string, Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32.buf(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
