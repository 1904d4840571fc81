import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchmarkDatasets } from '../../src/data/datasets/registry.js';
import { TptError } from '../../src/errors.js';
import { buildReport } from '../../src/report/report.js';
import { fixtureConfig, line, pred, summaryOf, writeRunFolder } from './run-fixtures.js';

const LINES = [line(0, 0, pred(0, 0.9), pred(0, 0.9))];

/** A finished run: config keys, what summary.json recorded it ran (absent for an older folder), its TPT top-1. */
function run(root: string, name: string, over: Record<string, unknown>, top1: number, recorded: Record<string, unknown> = {}): string {
  return writeRunFolder(join(root, name), fixtureConfig(over), LINES, summaryOf({ top1_tpt: top1, top1_base: top1, samples_done: 100, ...recorded }));
}

// `tpt convert --coop` stores CoOp's context in the weights folder; the config then names no CoOp file and
// keeps ctx_init, which the stored context overrides (weights/README.md's recommended flow).
const CONVERTED = { coop_weight_path: '', ctx_init: 'a_photo_of_a', clip_weights: 'weights/rn50-coop', dataset: 'imagenet-a' };
const STORED = { method: 'tpt', arch: 'RN50', context: { source: 'weights-folder', path: 'weights/rn50-coop' } };

describe('report labels come from what ran', () => {
  it('a converted weights folder with a CoOp context is CoOp (+ TPT), not TPT ("a photo of a")', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-labels-'));
    run(root, 'tuned', { ...CONVERTED, tta_steps: 1 }, 0.3, STORED);
    run(root, 'untuned', { ...CONVERTED, tta_steps: 0 }, 0.25, STORED);
    run(root, 'hand', { ...CONVERTED, clip_weights: 'weights/RN50.pt', tta_steps: 1 }, 0.2, { ...STORED, context: { source: 'ctx_init', text: 'a_photo_of_a' } });
    const { rows, text } = await buildReport([join(root, '*')], { table1: true });
    expect(Object.fromEntries(rows.map((r) => [r.run, r.method_label]))).toEqual({ tuned: 'CoOp + TPT', untuned: 'CoOp', hand: 'TPT ("a photo of a")' });
    expect(text).toMatch(/\| CoOp + +\| +— \| +25\.00 \|/);
    expect(text).toMatch(/\| CoOp \+ TPT +\| +— \| +30\.00 \|/);
    expect(text).toMatch(/\| TPT \("a photo of a"\) +\| +— \| +20\.00 \|/);
  });

  it('a ViT run without `arch` in its config is listed under ViT-B/16 (summary.json, else config.json)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-labels-vit-'));
    const vit = { clip_weights: 'weights/ViT-B-16.pt', coop_weight_path: '', dataset: 'imagenet-a' };
    run(root, 'vit', vit, 0.5, { method: 'tpt', arch: 'ViT-B/16', context: { source: 'random' } });
    // unfinished, no summary.json yet: config.json's record
    writeRunFolder(join(root, 'vit-running'), fixtureConfig({ ...vit, dataset: 'imagenet-r' }), LINES, undefined, '', { method: 'tpt', arch: 'ViT-B/16', context: { source: 'random' } });
    run(root, 'rn', { ...vit, clip_weights: 'weights/RN50.pt' }, 0.2);
    const { rows } = await buildReport([join(root, '*')]);
    expect(Object.fromEntries(rows.map((r) => [r.run, r.backbone]))).toEqual({ vit: 'ViT-B/16', 'vit-running': 'ViT-B/16', rn: 'RN50' });
    const tables = JSON.parse((await buildReport([join(root, '*')], { table1: true, format: 'json' })).text);
    expect(tables.map((t: { backbone: string }) => t.backbone)).toEqual(['RN50', 'ViT-B/16']);
  });

  it('older folders (no method, arch or context recorded, no method key) still report from their config', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-labels-old-'));
    const old = fixtureConfig({ tta_steps: 1, coop_weight_path: '', ctx_init: '', dataset: 'imagenet-a' });
    delete old.method;
    writeRunFolder(join(root, 'old'), old, LINES, summaryOf({ top1_tpt: 0.2, samples_done: 100 }));
    const { rows } = await buildReport([join(root, 'old')]);
    expect(rows[0]).toMatchObject({ method: 'TPT', method_label: 'TPT (random context)', backbone: 'RN50' });
  });

  it('one row per method: registry methods by title, online ones marked, a template ensemble as Ensemble', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-labels-methods-'));
    const base = { coop_weight_path: '', ctx_init: 'a_photo_of_a', dataset: 'imagenet-a' };
    run(root, '1-ctpt', { ...base, method: 'c-tpt' }, 0.3, { method: 'c-tpt', arch: 'RN50', context: { source: 'ctx_init', text: 'a_photo_of_a' } });
    run(root, '2-zero', { ...base, method: 'zero' }, 0.31);
    run(root, '3-online', { ...base, method: 'tpt' }, 0.32, { method: 'tpt', online: true, arch: 'RN50', context: { source: 'ctx_init', text: 'a_photo_of_a' } });
    // a template ensemble uses no context, even with a CoOp file named (config.json records source templates)
    run(root, '4-ensemble', { ...base, coop_weight_path: 'coop.pth', tta_steps: 0, templates: 'clip-80' }, 0.33);
    run(root, '7-tda', { ...base, method: 'tda', templates: 'clip-7' }, 0.34, { method: 'tda', online: true, arch: 'RN50', context: { source: 'templates', text: 'clip-7' } });
    run(root, '5-zeroshot', { ...base, tta_steps: 0 }, 0.2);
    run(root, '6-tpt', base, 0.27);
    const { rows, text } = await buildReport([join(root, '*')], { table1: true });
    expect(Object.fromEntries(rows.map((r) => [r.run, r.method]))).toEqual({
      '1-ctpt': 'C-TPT', '2-zero': 'Zero', '3-online': 'TPT (online)', '4-ensemble': 'Ensemble', '5-zeroshot': 'zero-shot', '6-tpt': 'TPT', '7-tda': 'TDA (online)',
    });
    const labels = text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| method') && !l.startsWith('| -')).map((l) => l.split('|')[1]!.trim());
    expect(labels).toEqual(['zero-shot ("a photo of a")', 'Ensemble (clip-80 templates)', 'TPT ("a photo of a")', 'C-TPT ("a photo of a")', 'Zero ("a photo of a")', 'TPT (online; "a photo of a")', 'TDA (online; clip-7 templates)']);
    // the plain report groups by method too, with a method column
    const plain = await buildReport([join(root, '*')]);
    expect(plain.text.split('\n')[0]).toMatch(/^\| backbone \| dataset +\| method +\|/);
    expect(plain.rows.map((r) => r.run)).toEqual(['5-zeroshot', '4-ensemble', '6-tpt', '1-ctpt', '2-zero', '3-online', '7-tda']);
  });
});

describe('tpt report --table2', () => {
  it('methods × the ten cross-dataset sets in registry order and column labels, plus their average, per backbone', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-table2-'));
    const sets = benchmarkDatasets('cross-dataset');
    expect(sets).toHaveLength(10);
    const zero = { coop_weight_path: '', ctx_init: 'a_photo_of_a', tta_steps: 0 };
    const tpt = { ...zero, tta_steps: 1 };
    sets.forEach((s, i) => run(root, `zero-${s.name}`, { ...zero, dataset: s.name, dataset_path: `/d/${s.name}` }, 0.5 + i / 100));
    run(root, 'tpt-dtd', { ...tpt, dataset: 'dtd', dataset_path: '/d/dtd' }, 0.47);
    run(root, 'vit-tpt-dtd', { ...tpt, dataset: 'dtd', dataset_path: '/d/dtd', clip_weights: 'weights/ViT-B-16.pt' }, 0.5, { method: 'tpt', arch: 'ViT-B/16', context: { source: 'ctx_init', text: 'a_photo_of_a' } });
    run(root, 'ctpt-dtd', { ...tpt, method: 'c-tpt', dataset: 'dtd', dataset_path: '/d/dtd' }, 0.48);
    run(root, 'natural', { ...tpt, dataset: 'imagenet-a' }, 0.9); // not a Table 2 set: left out
    const { text } = await buildReport([join(root, '*')], { table2: true });
    const lines = text.split('\n');
    expect(lines[0]).toBe('Table 2 layout, backbone RN50: top-1 accuracy (%)');
    expect(lines[2]!.split('|').slice(1, -1).map((c) => c.trim())).toEqual(['method', ...sets.map((s) => s.column), 'Average']);
    const row = (label: string) => lines.find((l) => l.startsWith(`| ${label} `))?.split('|').slice(1, -1).map((c) => c.trim());
    // average of 50 … 59 = 54.5
    expect(row('zero-shot ("a photo of a")')).toEqual(['zero-shot ("a photo of a")', ...sets.map((_, i) => (50 + i).toFixed(2)), '54.50']);
    expect(row('TPT ("a photo of a")')?.slice(1, 3)).toEqual(['—', '47.00']);
    expect(row('C-TPT ("a photo of a")')?.slice(2, 3)).toEqual(['48.00']);
    expect(text).not.toContain('90.00');
    expect(text).toContain('Table 2 layout, backbone ViT-B/16');
    const json = JSON.parse((await buildReport([join(root, '*')], { table2: true, format: 'json' })).text);
    expect(json[0].rows[0]).toMatchObject({ method: 'zero-shot', average: 54.5, average_complete: true });
    expect(json[0].rows[0]).not.toHaveProperty('ood_average');
    const csv = (await buildReport([join(root, '*')], { table2: true, format: 'csv' })).text.split('\n');
    expect(csv[0]).toBe(['backbone', 'method', 'label', ...sets.map((s) => s.name), 'average'].join(','));
  });
});

describe('globs skip folders that are not runs', () => {
  it('skips runs/demo-inputs matched by runs/* with one notice; named explicitly it is an error', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-glob-skip-'));
    run(join(root, 'runs'), 'a', { dataset: 'imagenet-a' }, 0.2);
    mkdirSync(join(root, 'runs', 'demo-inputs', 'n01498041'), { recursive: true });
    const result = await buildReport([join(root, 'runs', '*')]);
    expect(result.rows.map((r) => r.run)).toEqual(['a']);
    expect(result.skipped).toEqual([join(root, 'runs', 'demo-inputs')]);
    await expect(buildReport([join(root, 'runs', 'demo-inputs')])).rejects.toThrow(TptError);
    await expect(buildReport([join(root, 'runs', 'demo-*')])).rejects.toThrow(/no run folder among/);
  });
});
