import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { readJsonLines } from '../../src/run/jsonl.js';
import type { SampleRecord } from '../../src/run/records.js';
import { runTpt } from '../../src/tta/coordinator.js';
import { maxAbsDiff } from '../model/helpers.js';
import { readText } from './run-folder-reads.js';
import { tinyRunConfig, writeTinyDataset } from './tiny-dataset.js';

/**
 * `tpt run` with a prompt-template ensemble (`templates`, tta_steps 0) on a tiny dataset with the tiny CLIP: the
 * base and TPT scores are both the ensemble's, config.json records the set, and the scores are the same on both
 * engines, with worker threads, and as the text classifier of a method that tunes no prompt (zero). (The classifier itself is checked against PyTorch in
 * test/engine/template-ensemble.test.ts.)
 */

let datasetRoot: string;

beforeAll(async () => {
  await initBackend('wasm');
  datasetRoot = await writeTinyDataset({ classes: 2, perClass: 2 });
});

async function samplesOf(sets: string[]): Promise<{ dir: string; samples: SampleRecord[] }> {
  const result = await runTpt(tinyRunConfig(datasetRoot, ['save_logits=true', ...sets]));
  expect(result.status).toBe('finished');
  return { dir: result.dir, samples: readJsonLines<SampleRecord>(join(result.dir, 'samples.jsonl')).records };
}

describe('tpt run with templates', () => {
  it('scores view 0 with the ensemble (base = TPT), records the set, and agrees across engines and workers', async () => {
    const ensemble = await samplesOf(['templates="clip-7"', 'tta_steps=0']);
    expect((JSON.parse(readText(ensemble.dir, 'config.json')) as { config: { templates: unknown } }).config.templates).toBe('clip-7');
    expect(ensemble.samples).toHaveLength(4);
    for (const s of ensemble.samples) {
      expect(s.tpt_logits).toEqual(s.base_logits);
      expect(s.loss).toBe(0);
      expect(s.change).toBe(0);
    }

    // The single CoOp prompt scores differently: the ensemble really replaced the classifier.
    const single = await samplesOf(['tta_steps=0']);
    expect(maxAbsDiff(single.samples[0]!.base_logits!, ensemble.samples[0]!.base_logits!)).toBeGreaterThan(1e-2);

    const onnx = await samplesOf(['templates="clip-7"', 'tta_steps=0', 'backend="onnxruntime"']);
    const workers = await samplesOf(['templates="clip-7"', 'tta_steps=0', 'workers=2']);
    // A method without a prompt to tune takes the ensemble as its text classifier: the same zero-shot base.
    const zero = await samplesOf(['templates="clip-7"', 'method="zero"']);
    ensemble.samples.forEach((s, i) => {
      expect(maxAbsDiff(onnx.samples[i]!.base_logits!, s.base_logits!)).toBeLessThan(1e-4);
      expect(workers.samples[i]!.base_logits).toEqual(s.base_logits);
      expect(zero.samples[i]!.base_logits).toEqual(s.base_logits);
    });
  }, 120_000);
});
