import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createConsoleReporter, formatDuration, progressLine, summaryText } from '../../src/run/console-reporter.js';
import type { RunSummary } from '../../src/run/summary.js';

const SUMMARY: RunSummary = {
  run_name: 'r', finished: false, samples_done: 118, samples_total: 7500, files_skipped: 2, top1_base: 0.2314, top1_tpt: 0.2936,
  top5_base: 0.5, top5_tpt: 0.55, improved: 661, worsened: 196, ece_base: 0.05, ece_tpt: 0.04, elapsed_seconds: 240,
  seconds_per_sample: 2, backend: 'wasm', workers: 1, updated: '2026-01-01T00:00:00.000Z',
};

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

describe('console reporter', () => {
  it('formats durations', () => {
    expect(formatDuration(12.34)).toBe('12.3s');
    expect(formatDuration(125)).toBe('2m 5s');
    expect(formatDuration(3 * 3600 + 120)).toBe('3h 2m');
    expect(formatDuration(NaN)).toBe('?');
  });

  it('prints a progress line with rate, running accuracies and ETA', () => {
    const line = progressLine({ done: 120, total: 7500, doneThisSession: 20, sessionSeconds: 40, top1Base: 0.231, top1Tpt: 0.29, skipped: 1 });
    expect(line).toBe('[tpt] 120/7500 (1.6%) · 0.50 samples/s · base top-1 23.10% · TPT top-1 29.00% · 1 skipped · ETA 4h 6m\n');
  });

  it('ends an interrupted run with how to continue and how to open TensorBoard', () => {
    const text = summaryText('interrupted', SUMMARY, 'runs/x', 'runs');
    expect(text).toContain('Stopped after 120 of 7500 samples, 2 unreadable file(s) skipped');
    expect(text).toContain('  base       23.14%');
    expect(text).toContain('TPT fixed 661 base error(s) and broke 196');
    expect(text).toContain('tensorboard --logdir runs');
    expect(text).toContain('Run the same command again to continue');
  });

  it('writes progress lines at most every logEverySeconds when not on a terminal, and always the last', () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const errText = collect(err);
    const reporter = createConsoleReporter({ out, err, tty: false, logEverySeconds: 3600 });
    const snapshot = { total: 3, doneThisSession: 1, sessionSeconds: 1, top1Base: 0, top1Tpt: 0, skipped: 0 };
    reporter.progress({ ...snapshot, done: 1 });
    reporter.progress({ ...snapshot, done: 2 });
    reporter.progress({ ...snapshot, done: 3 });
    expect(errText().split('\n').filter(Boolean).map((l) => l.slice(0, 11))).toEqual(['[tpt] 1/3 (', '[tpt] 3/3 (']);
  });
});
