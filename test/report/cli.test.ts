import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { fixtureConfig, line, pred, summaryOf, writeRunFolder } from './run-fixtures.js';

function capture(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  return { out: () => out, err: () => err };
}

afterEach(() => vi.restoreAllMocks());

describe('tpt report and tpt merge on the command line', () => {
  it('report prints the table in the chosen format; merge joins shards and says what it wrote', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tpt-cli-report-'));
    const lines = [line(0, 1, pred(1, 0.9), pred(1, 0.9)), line(1, 2, pred(3, 0.4), pred(2, 0.5))];
    for (const i of [0, 1]) {
      writeRunFolder(join(root, `r_shard=${i}of2`), fixtureConfig({ shard: `${i}/2` }), lines.filter((l) => l.index % 2 === i), summaryOf({ finished: true }));
    }
    let io = capture();
    expect(await main(['node', 'tpt', 'merge', join(root, '*_shard=*of2'), '--out', join(root, 'merged')])).toBe(0);
    expect(io.out()).toMatch(/merged 2 shards into .*merged: 2 samples; top-1 base 0\.5000, TPT 1\.0000; improved 1, worsened 0/);
    vi.restoreAllMocks();

    io = capture();
    expect(await main(['node', 'tpt', 'report', join(root, 'merged'), '--format', 'csv'])).toBe(0);
    const [header, row] = io.out().trim().split('\n');
    expect(header!.split(',').slice(6, 12)).toEqual(['base_top1', 'base_top5', 'tpt_top1', 'tpt_top5', 'improved', 'worsened']);
    expect(row!.split(',').slice(6, 12)).toEqual(['0.5', '0.5', '1', '1', '1', '0']);
    vi.restoreAllMocks();

    io = capture();
    expect(await main(['node', 'tpt', 'report', join(root, 'nothing-*')])).toBe(2);
    expect(io.err()).toContain('matches no folder');
  });
});
