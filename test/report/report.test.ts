import { mkdtempSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport, resolveRunFolders } from '../../src/report/report.js';
import { plotData } from '../../src/report/plot.js';
import { TptError } from '../../src/errors.js';
import { fixtureConfig, line, pred, summaryOf, writeRunFolder } from './run-fixtures.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tpt-report-'));
  // finished runs: the report shows their summary.json figures as written
  writeRunFolder(
    join(root, 'runs', 'a_overlap04'),
    fixtureConfig({ overlap: 0.4 }),
    [line(0, 1, pred(1, 0.9), pred(1, 0.9))],
    summaryOf({ top1_base: 0.25, top1_tpt: 0.5, top5_base: 0.5, top5_tpt: 0.75, improved: 1, worsened: 0, ece_base: 0.1234, ece_tpt: 0.2345 }),
  );
  writeRunFolder(
    join(root, 'runs', 'b_overlap08'),
    fixtureConfig({ overlap: 0.8 }),
    [line(0, 1, pred(1, 0.9), pred(1, 0.9))],
    summaryOf({ top1_base: 0.25, top1_tpt: 0.75, top5_base: 0.5, top5_tpt: 1, improved: 2, worsened: 0, ece_base: 0.1, ece_tpt: 0.05, seconds_per_sample: 12.25 }),
  );
  // unfinished: summary says finished false, three whole lines and a torn fourth; figures come from the lines
  writeRunFolder(
    join(root, 'runs', 'c_unfinished'),
    fixtureConfig({ overlap: 0.6, n_aug: 2, n_patches: 32 }),
    [
      line(0, 1, pred(1, 0.9), pred(1, 0.95)), // both right
      line(1, 2, pred(5, 0.5, [2]), pred(2, 0.6)), // improved; base top-5 holds the target
      line(2, 3, pred(3, 0.3), pred(7, 0.4)), // worsened; TPT top-5 misses the target
    ],
    summaryOf({ finished: false, samples_done: 2, top1_base: 0.5, seconds_per_sample: 3 }),
    '{"index":3,"file":"n01498041/im',
  );
});

function markdownCells(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) => l.slice(1, -1).split('|').map((c) => c.trim()));
}

describe('tpt report', () => {
  it('prints one Markdown row per run in the seed style, marking the unfinished run', async () => {
    const { text } = await buildReport([join(root, 'runs', '*')]);
    const cells = markdownCells(text);
    expect(cells[0]).toEqual([
      'augmenter', 'loss', 'naug', 'npatch', 'overlap', 'augmix', 'base top-1', 'base top-5', 'TPT top-1', 'TPT top-5',
      'improved', 'worsened', 'ECE base', 'ECE TPT', 'samples', 's/sample', 'run',
    ]);
    expect(cells[2]).toEqual([
      'PatchAugmenter', 'defaultTPT', '4', '16', '0.4', 'true', '0.2500', '0.5000', '0.5000', '0.7500', '1', '0', '0.1234', '0.2345', '4', '2.50', 'a_overlap04',
    ]);
    expect(cells[3]).toEqual([
      'PatchAugmenter', 'defaultTPT', '4', '16', '0.8', 'true', '0.2500', '0.5000', '0.7500', '1.0000', '2', '0', '0.1000', '0.0500', '4', '12.3', 'b_overlap08',
    ]);
    // by hand: top-1 2/3 both; top-5 base 3/3, TPT 2/3; ECE base (0.1+0.5+0.7)/3, TPT (0.05+0.4+0.4)/3
    expect(cells[4]).toEqual([
      'PatchAugmenter', 'defaultTPT', '2', '32', '0.6', 'true', '0.6667', '1.0000', '0.6667', '0.6667', '1', '1', '0.4333', '0.2833', '3 (unfinished)', '3.00', 'c_unfinished',
    ]);
    expect(text).toContain('1 unfinished run: figures cover the samples finished so far.');
  });

  it('writes CSV and JSON with the same figures', async () => {
    const runs = [join(root, 'runs', 'c_unfinished'), join(root, 'runs', 'a_overlap04')];
    const csv = (await buildReport(runs, { format: 'csv' })).text.trim().split('\n');
    const header = csv[0]!.split(',');
    expect(header.slice(0, 6)).toEqual(['augmenter', 'loss', 'naug', 'npatch', 'overlap', 'augmix']);
    const first = Object.fromEntries(header.map((h, i) => [h, csv[1]!.split(',')[i]]));
    expect(first).toMatchObject({ loss: 'defaultTPT', naug: '2', npatch: '32', overlap: '0.6', improved: '1', worsened: '1', samples: '3', finished: 'false', run: 'c_unfinished' });
    expect(Number(first.tpt_top5)).toBeCloseTo(2 / 3, 12);
    expect(Number(first.ece_base)).toBeCloseTo(1.3 / 3, 12);

    const json = JSON.parse((await buildReport(runs, { format: 'json' })).text) as Record<string, unknown>[];
    expect(json).toHaveLength(2);
    expect(json[1]).toMatchObject({ run: 'a_overlap04', finished: true, tpt_top1: 0.5, ece_tpt: 0.2345, samples: 4, seconds_per_sample: 2.5 });
    expect(json[0]!.ece_tpt as number).toBeCloseTo(0.85 / 3, 12);
    expect((json[0]!.config as Record<string, unknown>).n_patches).toBe(32);
  });

  it('expands a folder of runs and quoted globs, and names arguments that match nothing', async () => {
    expect((await resolveRunFolders([join(root, 'runs')])).map((d) => d.split('/').pop())).toEqual(['a_overlap04', 'b_overlap08', 'c_unfinished']);
    expect((await resolveRunFolders([join(root, 'runs', '?_overlap*')])).length).toBe(2);
    expect((await resolveRunFolders([join(root, '**', 'c_*')])).length).toBe(1);
    await expect(resolveRunFolders([join(root, 'runs', 'zzz*')])).rejects.toThrow(/matches no folder/);
    mkdirSync(join(root, 'empty'), { recursive: true });
    await expect(resolveRunFolders([join(root, 'empty')])).rejects.toBeInstanceOf(TptError);
  });

  it('reports a run that has no summary and no samples yet', async () => {
    const dir = join(root, 'fresh');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ config: fixtureConfig({}) }));
    const [row] = (await buildReport([dir])).rows;
    expect(row).toMatchObject({ finished: false, samples: 0 });
    expect(row!.tpt_top1).toBeNaN();
  });

  it('draws TPT top-1 against --by as a PNG, one line per combination of the other varying keys', async () => {
    const out = join(root, 'overlap.png');
    const result = await buildReport([join(root, 'runs', '*')], { plot: out, by: 'overlap' });
    expect(result.plot).toMatchObject({ path: out, by: 'overlap', lines: 2 });
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([result.plot!.width, result.plot!.height]);
    const stats = await sharp(out).stats();
    expect(stats.channels[0]!.min).toBeLessThan(100); // something dark (axes, text) was drawn on white

    const data = plotData(result.rows, 'naug'); // the seed's short name for n_aug
    expect(data.by).toBe('n_aug');
    expect(data.series.map((s) => s.label).sort()).toEqual(['n_patches=16, overlap=0.4', 'n_patches=16, overlap=0.8', 'n_patches=32, overlap=0.6']);
  });

  it('a plot path in a missing folder is a one-line OUTPUT_WRITE error with a hint', async () => {
    await expect(buildReport([join(root, 'runs', '*')], { plot: join(root, 'no-such-folder', 'overlap.png'), by: 'overlap' })).rejects.toMatchObject({
      code: 'OUTPUT_WRITE',
      message: expect.stringMatching(/no-such-folder.*ENOENT/),
      hint: expect.stringMatching(/folder exists/),
    });
  });

  it('refuses a --by key no run has', async () => {
    await expect(buildReport([join(root, 'runs')], { plot: join(root, 'x.png'), by: 'no_such_key' })).rejects.toThrow(/no run's config has the key/);
  });
});

describe('the run column', () => {
  it('names the folder exactly, so it can be passed back to tpt report', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-runcol-'));
    const name = 'seed-patch_size=Full_augmenter=PatchAugmenter_loss=patch_loss1_naug=4_npatch=16_overlap=0.0_augmix=True_severity=2_lr=0.005_spall=0.1_sppat=0.9_cfg=0123abcd';
    writeRunFolder(join(root, name), fixtureConfig({}), [line(0, 0, pred(0, 0.9), pred(0, 0.9))], summaryOf({ samples_done: 1 }));
    const { text } = await buildReport([join(root, '*')]);
    const runCell = text.split('\n')[2]!.split('|').slice(-2, -1)[0]!.trim();
    expect(runCell).toBe(name);
    expect(readdirSync(root)).toContain(runCell);
  });
});
