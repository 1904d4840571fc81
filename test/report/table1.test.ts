import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/report.js';
import { methodOf } from '../../src/report/table1.js';
import { fixtureConfig, line, pred, summaryOf, writeRunFolder } from './run-fixtures.js';

/** A finished run with the given TPT top-1 (fraction) on a dataset, for a method given by config keys. */
function run(root: string, name: string, over: Record<string, unknown>, top1: number, summaryOver: Record<string, unknown> = {}): string {
  return writeRunFolder(join(root, name), fixtureConfig(over), [line(0, 0, pred(0, 0.9), pred(0, 0.9))], summaryOf({ top1_tpt: top1, top1_base: top1, samples_done: 100, ...summaryOver }));
}

const ZERO = { tta_steps: 0, coop_weight_path: '', ctx_init: 'a_photo_of_a' };
const TPT = { tta_steps: 1, coop_weight_path: '', ctx_init: 'a_photo_of_a' };
const COOP = { tta_steps: 0, coop_weight_path: 'weights/model.pth.tar-50' };
const COOP_TPT = { tta_steps: 1, coop_weight_path: 'weights/model.pth.tar-50' };

describe('tpt report --table1', () => {
  it('derives the method from tta_steps and coop_weight_path', () => {
    expect([ZERO, TPT, COOP, COOP_TPT].map((c) => methodOf(fixtureConfig(c)))).toEqual(['zero-shot', 'TPT', 'CoOp', 'CoOp + TPT']);
  });

  it('puts methods in rows and datasets in columns, per backbone, with the average and the OOD average', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-table1-'));
    const datasets = ['imagenet', 'imagenet-a', 'imagenet-v2', 'imagenet-r', 'imagenet-sketch'];
    const zero = [0.6, 0.2, 0.5, 0.56, 0.34];
    datasets.forEach((d, i) => run(root, `rn-zero-${d}`, { ...ZERO, dataset: d, dataset_path: `/d/${d}` }, zero[i] as number));
    // a TPT run on ImageNet-A without the `dataset` key (written before it existed) counts as ImageNet-A
    const old = fixtureConfig(TPT) as Record<string, unknown>;
    delete old.dataset;
    writeRunFolder(join(root, 'rn-tpt-old'), old, [line(0, 0, pred(0, 0.9), pred(0, 0.9))], summaryOf({ top1_tpt: 0.2667, samples_done: 100 }));
    run(root, 'rn-coop-tpt-a', { ...COOP_TPT, dataset: 'imagenet-a', dataset_path: '/d/a' }, 0.3032);
    // the backbone comes from the summary's arch when it records one
    run(root, 'vit-coop-v2', { ...COOP, dataset: 'imagenet-v2', dataset_path: '/d/v2' }, 0.64, { arch: 'ViT-B/16' });

    const { text } = await buildReport([join(root, '*')], { table1: true });
    const lines = text.split('\n');
    expect(lines[0]).toBe('Table 1 layout, backbone RN50: top-1 accuracy (%)');
    expect(lines[2]).toMatch(/^\| method +\| ImageNet \| ImageNet-A \| ImageNet-V2 \| ImageNet-R \| ImageNet-Sketch \| Average \| OOD Average \|$/);
    const row = (label: string) => lines.find((l) => l.startsWith(`| ${label} `))?.split('|').slice(1, -1).map((c) => c.trim());
    // average of the five: (60 + 20 + 50 + 56 + 34) / 5 = 44; OOD: (20 + 50 + 56 + 34) / 4 = 40
    expect(row('zero-shot ("a photo of a")')).toEqual(['zero-shot ("a photo of a")', '60.00', '20.00', '50.00', '56.00', '34.00', '44.00', '40.00']);
    expect(row('TPT ("a photo of a")')).toEqual(['TPT ("a photo of a")', '—', '26.67', '—', '—', '—', '26.67†', '26.67†']);
    expect(row('CoOp + TPT')?.slice(2, 3)).toEqual(['30.32']);
    // paper order: zero-shot, CoOp, TPT, CoOp + TPT
    const labels = lines.filter((l) => /^\| (zero|TPT|CoOp)/.test(l)).map((l) => l.split('|')[1]!.trim());
    expect(labels.slice(0, 3)).toEqual(['zero-shot ("a photo of a")', 'TPT ("a photo of a")', 'CoOp + TPT']);
    expect(text).toContain('Table 1 layout, backbone ViT-B/16');
    expect(text).toMatch(/\| CoOp +\| +— \| +— \| +64\.00 \|/);
    expect(text).toContain('† over the datasets present only');

    const json = JSON.parse((await buildReport([join(root, '*')], { table1: true, format: 'json' })).text);
    expect(json.map((t: { backbone: string }) => t.backbone)).toEqual(['RN50', 'ViT-B/16']);
    expect(json[0].rows[0]).toMatchObject({ method: 'zero-shot', average: 44, ood_average: 40, average_complete: true });
  });

  it('keeps variants of one method apart, labelled by the setting that differs', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-table1-var-'));
    run(root, 'a', { ...TPT, loss: 'defaultTPT' }, 0.25);
    run(root, 'b', { ...TPT, loss: 'crossentropy_hard1' }, 0.31);
    const { text } = await buildReport([join(root, '*')], { table1: true });
    expect(text).toMatch(/\| TPT \("a photo of a"\), loss=crossentropy_hard1 \| +— \| +31\.00 \|/);
    expect(text).toMatch(/\| TPT \("a photo of a"\), loss=defaultTPT +\| +— \| +25\.00 \|/);
  });

  it('the plain report groups by backbone and dataset, with those columns once they vary', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-group-'));
    run(root, '1-a', { dataset: 'imagenet-a' }, 0.2);
    run(root, '2-in', { dataset: 'imagenet', dataset_path: '/x' }, 0.6);
    run(root, '3-a', { dataset: 'imagenet-a' }, 0.3);
    const { rows, text } = await buildReport([join(root, '*')]);
    expect(rows.map((r) => r.run)).toEqual(['2-in', '1-a', '3-a']);
    expect(text.split('\n')[0]).toMatch(/^\| backbone \| dataset +\| method +\| augmenter/);
    const single = await buildReport([join(root, '1-a'), join(root, '3-a')]);
    expect(single.text.split('\n')[0]).toMatch(/^\| augmenter/);
  });
});

describe('configs/table1-*.json', () => {
  it('one config per Table 1 row and backbone, each valid, its method what its name says', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const expected = { zeroshot: 'zero-shot', ensemble: 'Ensemble', coop: 'CoOp', tpt: 'TPT', 'coop-tpt': 'CoOp + TPT' } as const;
    for (const backbone of ['rn50', 'vit-b16']) {
      for (const [file, method] of Object.entries(expected)) {
        const config = loadConfig(`configs/table1-${backbone}-${file}.json`, []);
        expect(methodOf(config as unknown as Record<string, unknown>), file).toBe(method);
        expect(config.arch).toBe(backbone === 'rn50' ? 'RN50' : 'ViT-B/16');
        expect(config.clip_weights).toBe(backbone === 'rn50' ? 'weights/RN50.pt' : 'weights/ViT-B-16.pt');
        if (method === 'zero-shot' || method === 'TPT') expect(config.ctx_init).toBe('a_photo_of_a');
        if (method.startsWith('CoOp')) expect(config.coop_weight_path).toMatch(backbone === 'rn50' ? /^weights\/model\.pth\.tar-50$/ : /vit-b16/);
        // TPT's settings for the ImageNet test sets: 63 augmented views + the image, no AugMix, 1 step
        if (method === 'TPT' || method === 'CoOp + TPT') expect([config.n_aug, config.augmix, config.tta_steps, config.selection_p_all]).toEqual([63, false, 1, 0.1]);
      }
    }
  });
});
