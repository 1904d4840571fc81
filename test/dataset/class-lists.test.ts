import { describe, expect, it } from 'vitest';
import { IMAGENET_1K_CLIP_NAMES, IMAGENET_1K_WNIDS } from '../../src/data/datasets/imagenet-1k-data.js';
import { IMAGENET_A_CLASSES } from '../../src/data/datasets/imagenet-a.js';
import { IMAGENET_A_SUBSET_WNIDS, IMAGENET_R_WNIDS } from '../../src/data/datasets/imagenet-subsets-data.js';
import { DATASET_NAMES, allDatasets, classnamesOfConfig, datasetClassnames, getDataset } from '../../src/data/datasets/registry.js';

/**
 * The class lists against each other: CLIP's 1000 names and TPT's wnids (imagenet-1k-data.ts), TPT's R and A
 * subsets (imagenet-subsets-data.ts) and the seed's 200 ImageNet-A pairs (imagenet-a-data.ts), which came
 * from three different places.
 */
describe('ImageNet class lists', () => {
  it('ImageNet-1k: 1000 unique wnids, sorted (the train folders n01440764 … n15075141), one CLIP name each', () => {
    expect(IMAGENET_1K_WNIDS).toHaveLength(1000);
    expect(new Set(IMAGENET_1K_WNIDS).size).toBe(1000);
    expect([...IMAGENET_1K_WNIDS].sort()).toEqual(IMAGENET_1K_WNIDS);
    expect(IMAGENET_1K_WNIDS[0]).toBe('n01440764');
    expect(IMAGENET_1K_WNIDS[999]).toBe('n15075141');
    expect(IMAGENET_1K_CLIP_NAMES).toHaveLength(1000);
    expect([IMAGENET_1K_CLIP_NAMES[0], IMAGENET_1K_CLIP_NAMES[6], IMAGENET_1K_CLIP_NAMES[999]]).toEqual(['tench', 'stingray', 'toilet paper']);
  });

  it('has ASCII names only, so leaving out ftfy (see bpe-text-cleanup.ts) cannot change the 1000 prompts either', () => {
    for (const name of IMAGENET_1K_CLIP_NAMES) expect(name).toMatch(/^[\x20-\x7e]+$/);
  });

  it("CLIP's cleaned names repeat twice (998 distinct), so a name alone does not identify a class", () => {
    const counts = new Map<string, number[]>();
    IMAGENET_1K_CLIP_NAMES.forEach((n, i) => counts.set(n, [...(counts.get(n) ?? []), i]));
    const repeated = [...counts].filter(([, at]) => at.length > 1);
    // missile (n03773504) / projectile, missile (n04008634); sunglass (n04355933) / sunglasses, dark glasses (n04356056)
    expect(repeated.map(([name, at]) => [name, at.map((i) => IMAGENET_1K_WNIDS[i])])).toEqual([
      ['missile', ['n03773504', 'n04008634']],
      ['sunglasses', ['n04355933', 'n04356056']],
    ]);
  });

  it("the seed's 200 ImageNet-A wnids are exactly TPT's A subset of ImageNet-1k, in the same order", () => {
    expect(IMAGENET_A_CLASSES.map((c) => c.wnid)).toEqual(IMAGENET_A_SUBSET_WNIDS);
  });

  it("the seed's 200 ImageNet-A names are CLIP's names of those classes, except ten the seed keeps in WordNet form", () => {
    const clipName = new Map(IMAGENET_1K_WNIDS.map((w, i) => [w, IMAGENET_1K_CLIP_NAMES[i]]));
    const differ = IMAGENET_A_CLASSES.filter((c) => clipName.get(c.wnid) !== c.name).map((c) => [c.wnid, c.name, clipName.get(c.wnid)]);
    expect(differ).toEqual([
      ['n02236044', 'mantis', 'praying mantis'],
      ['n02280649', 'small white', 'small white butterfly'],
      ['n02879718', 'bow', 'hunting bow'],
      ['n03014705', 'chest', 'storage chest'],
      ['n03590841', "jack-o'-lantern", 'carved pumpkin'],
      ['n03804744', 'nail', 'metal nail'],
      ['n03854065', 'organ', 'pipe organ'],
      ['n03982430', 'billiard table', 'pool table'],
      ['n04067472', 'reel', 'fishing casting reel'],
      ['n07760859', 'custard apple', 'cherimoya (custard apple)'],
    ]);
    // and the registry's A entry is the seed's list, names included
    expect(datasetClassnames('imagenet-a')).toEqual(IMAGENET_A_CLASSES.map((c) => c.name));
  });

  it('ImageNet-R: 200 sorted wnids of ImageNet-1k, named as CLIP names them', () => {
    expect(IMAGENET_R_WNIDS).toHaveLength(200);
    expect(new Set(IMAGENET_R_WNIDS).size).toBe(200);
    expect([...IMAGENET_R_WNIDS].sort()).toEqual(IMAGENET_R_WNIDS);
    const all = new Set(IMAGENET_1K_WNIDS);
    expect(IMAGENET_R_WNIDS.every((w) => all.has(w))).toBe(true);
    const r = getDataset('imagenet-r');
    expect(r.classes[0]).toEqual({ label: 0, wnid: 'n01443537', name: 'goldfish', folder: 'n01443537' });
    expect(r.classes[199]?.wnid).toBe(IMAGENET_R_WNIDS[199]);
    // R and A are different subsets: both 200 classes, partly shared
    const a = new Set(IMAGENET_A_SUBSET_WNIDS);
    const shared = IMAGENET_R_WNIDS.filter((w) => a.has(w)).length;
    expect(shared).toBeGreaterThan(0);
    expect(shared).toBeLessThan(200);
  });
});

describe('dataset registry', () => {
  it('has an entry per name, with the published sizes and class counts, benchmark and views rule', () => {
    expect(allDatasets().map((d) => d.name)).toEqual([...DATASET_NAMES]);
    const sizes = Object.fromEntries(allDatasets().map((d) => [d.name, [d.classes.length, d.expectedImages, d.ood, d.benchmark, d.augmix]]));
    expect(sizes).toEqual({
      'imagenet-a': [200, 7500, true, 'natural-shift', false],
      'imagenet-r': [200, 30000, true, 'natural-shift', false],
      'imagenet-v2': [1000, 10000, true, 'natural-shift', false],
      'imagenet-sketch': [1000, 50889, true, 'natural-shift', false],
      imagenet: [1000, 50000, false, 'natural-shift', false],
      // TPT Table 2's sets (CoOp's test splits); AugMix on: TPT's augmix=len(set_id)>1.
      flowers102: [102, 2463, false, 'cross-dataset', true],
      dtd: [47, 1692, false, 'cross-dataset', true],
      'oxford-pets': [37, 3669, false, 'cross-dataset', true],
      'stanford-cars': [196, 8041, false, 'cross-dataset', true],
      ucf101: [101, 3783, false, 'cross-dataset', true],
      caltech101: [100, 2465, false, 'cross-dataset', true],
      food101: [101, 30300, false, 'cross-dataset', true],
      sun397: [397, 19850, false, 'cross-dataset', true],
      'fgvc-aircraft': [100, 3333, false, 'cross-dataset', true],
      eurosat: [10, 8100, false, 'cross-dataset', true],
    });
    for (const d of allDatasets()) d.classes.forEach((c, i) => expect(c.label).toBe(i));
  });

  it('pins each dataset’s labels: wnid folders by the class list, V2’s folders by their number', () => {
    const label = (name: (typeof DATASET_NAMES)[number], folder: string) => getDataset(name).classes.find((c) => c.folder === folder)?.label;
    expect(label('imagenet-a', 'n01498041')).toBe(0);
    expect(label('imagenet-r', 'n01443537')).toBe(0);
    expect(label('imagenet', 'n01440764')).toBe(0);
    expect(label('imagenet', 'n15075141')).toBe(999);
    expect(label('imagenet-sketch', 'n01498041')).toBe(6);
    expect(label('imagenet-v2', '10')).toBe(10);
    expect(label('imagenet-v2', '2')).toBe(2);
    expect(label('imagenet-v2', '999')).toBe(999);
    expect(getDataset('imagenet-v2').classes[10]).toMatchObject({ wnid: IMAGENET_1K_WNIDS[10], name: 'brambling' });
  });

  it('reads a stored config’s dataset, falling back to ImageNet-A for older runs', () => {
    expect(classnamesOfConfig({ dataset: 'imagenet' })).toHaveLength(1000);
    expect(classnamesOfConfig({})).toHaveLength(200);
    expect(classnamesOfConfig({ dataset: 'nonsense' })).toEqual(datasetClassnames('imagenet-a'));
  });
});
