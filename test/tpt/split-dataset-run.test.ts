import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { runTpt } from '../../src/tta/coordinator.js';
import { writeDtdTree } from '../dataset/split-trees.js';
import { readSummary, withoutTimings } from './run-folder-reads.js';
import { tinyRunConfig } from './tiny-dataset.js';

/**
 * `tpt run` on a split-file set with the tiny CLIP: DTD's miniature in CoOp's layout and in TPT's. A sample is
 * named by its split path in both, so its views (random streams keyed by it) and so every record are the same.
 */

const runOn = async (layout: 'coop' | 'tpt') => {
  const tree = await writeDtdTree(layout);
  const config = tinyRunConfig(tree.root, [
    'dataset="dtd"',
    `dataset_path=${JSON.stringify(tree.root)}`,
    `split_file=${JSON.stringify(tree.splitFile)}`,
    'augmix=null', // the dataset's rule: on for DTD
    'n_aug=3',
    'selection_p_all=0.5',
    'save_logits=true',
  ]);
  return { config, result: await runTpt(config) };
};

let coop: Awaited<ReturnType<typeof runOn>>;
let tpt: Awaited<ReturnType<typeof runOn>>;

beforeAll(async () => {
  await initBackend('wasm');
  coop = await runOn('coop');
  tpt = await runOn('tpt');
}, 300_000);

describe('tpt run on DTD (a CoOp split file)', () => {
  it("labels from the split, logits over DTD's 47 classes, AugMix on by the dataset's rule", () => {
    expect(coop.result.status).toBe('finished');
    expect(coop.config.augmix).toBe(true);
    const written = JSON.parse(readFileSync(join(coop.result.dir, 'config.json'), 'utf8'));
    expect(written.config.augmix).toBe(true);
    const records = readFileSync(join(coop.result.dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(6);
    const labelOf = Object.fromEntries(records.map((r) => [r.file, r.target]));
    expect(labelOf).toMatchObject({ 'banded/banded_0002.jpg': 0, 'dotted/dotted_0111.jpg': 10, 'zigzagged/zigzagged_0001.jpg': 46 });
    for (const r of records) expect(r.base_logits).toHaveLength(47);
    expect(coop.result.dir).toMatch(/_augmix=True_.*_dataset=dtd$/);
  });

  it("gives the same records and summary in CoOp's layout and in TPT's", () => {
    expect(tpt.result.status).toBe('finished');
    const records = (dir: string) => readFileSync(join(dir, 'samples.jsonl'), 'utf8');
    expect(records(tpt.result.dir)).toBe(records(coop.result.dir));
    const summary = (dir: string) => {
      const { run_name: _, ...rest } = withoutTimings(readSummary(dir)) as Record<string, unknown>;
      return rest;
    };
    expect(summary(tpt.result.dir)).toEqual(summary(coop.result.dir));
  });
});
