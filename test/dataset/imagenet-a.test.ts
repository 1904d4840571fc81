import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  IMAGENET_A_CLASSES,
  IMAGENET_A_CLASSNAMES,
  IMAGENET_A_WNIDS,
  isImageNetAWnid,
  wnidToLabel,
} from '../../src/data/datasets/imagenet-a.js';
import { TptError } from '../../src/errors.js';

const SEED = new URL('../../../shared/seed/000_22056a0b6ed2f48d.txt', import.meta.url).pathname;

describe('ImageNet-A class list', () => {
  it('has 200 unique classes sorted by wnid, labels equal to the index', () => {
    expect(IMAGENET_A_CLASSES).toHaveLength(200);
    expect(new Set(IMAGENET_A_WNIDS).size).toBe(200);
    expect(new Set(IMAGENET_A_CLASSNAMES).size).toBe(200);
    expect([...IMAGENET_A_WNIDS].sort()).toEqual(IMAGENET_A_WNIDS);
    IMAGENET_A_CLASSES.forEach((c, i) => {
      expect(c.label).toBe(i);
      expect(c.wnid).toMatch(/^n\d{8}$/);
      expect(IMAGENET_A_CLASSNAMES[i]).toBe(c.name);
    });
  });

  it('has ASCII names only, so leaving out ftfy (see bpe-text-cleanup.ts) cannot change their prompts', () => {
    for (const name of IMAGENET_A_CLASSNAMES) expect(name).toMatch(/^[\x20-\x7e]+$/);
  });

  it('matches known entries of the seed', () => {
    expect(IMAGENET_A_CLASSES[0]).toEqual({ wnid: 'n01498041', name: 'stingray', label: 0, folder: 'n01498041' });
    expect(IMAGENET_A_CLASSES[199]).toEqual({ wnid: 'n12267677', name: 'acorn', label: 199, folder: 'n12267677' });
    expect(wnidToLabel('n03590841')).toBe(IMAGENET_A_CLASSNAMES.indexOf("jack-o'-lantern"));
    expect(isImageNetAWnid('n01440764')).toBe(false); // tench: ImageNet-1k, not ImageNet-A
    expect(() => wnidToLabel('n01440764')).toThrow(TptError);
  });

  it.skipIf(!existsSync(SEED))('equals the dict in the seed notebook, in order', () => {
    const text = readFileSync(SEED, 'utf8');
    const start = text.indexOf('folder_classname_dict = {');
    const end = text.indexOf('classnames = list(folder_classname_dict.values())');
    const pairs = [...text.slice(start, end).matchAll(/"(n\d{8})": "(.*?)"/g)].map((m) => [m[1], m[2]]);
    expect(pairs).toEqual(IMAGENET_A_CLASSES.map((c) => [c.wnid, c.name]));
  });
});
