import cliProgress from 'cli-progress';
import type { BannerInfo, ProgressSnapshot, RunReporter, RunStatus } from './reporter.js';
import type { RunSummary } from './summary.js';

/**
 * The run as a person sees it: a start banner, then a progress bar on a terminal (samples/s and the running
 * base and TPT top-1) or, in a pipe or a batch job's log, one progress line every `logEverySeconds`; at
 * the end the summary and how to open the run in TensorBoard. Streams are parameters so tests can capture.
 */

export interface ConsoleReporterOptions {
  /** Banner and summary (stdout). */
  out: NodeJS.WritableStream;
  /** Progress (stderr). */
  err: NodeJS.WritableStream;
  /** Draw a progress bar (the err stream is a terminal); otherwise write progress lines. */
  tty: boolean;
  logEverySeconds?: number;
}

const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(seconds - minutes * 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes - hours * 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function bannerText(info: BannerInfo): string {
  const { title, splitFile } = info.dataset;
  const dataset =
    `${title === undefined ? '' : `${title} at `}${info.dataset.root}${splitFile === undefined ? '' : ` (split ${splitFile})`}: ` +
    `${info.dataset.samples} images in ${info.dataset.classes} classes${info.dataset.complete ? '' : ' (partial)'}`;
  const samples =
    info.alreadyDone > 0
      ? `${info.total}; resuming after ${info.alreadyDone} done`
      : `${info.total}${info.shard === null ? '' : ` (shard ${info.shard})`}`;
  const rows: Array<[string, string]> = [
    ['method', info.method],
    ['seed', String(info.seed)],
    ['backend', info.backend],
    ['weights', info.weights],
    ['arch', info.arch],
    ['CoOp ctx', info.coop],
    ['vocabulary', info.vocabulary],
    ['dataset', dataset],
    ['samples', samples],
    ['run folder', info.runDir],
  ];
  const lines = [`tpt run${info.resumed ? ' (continuing an earlier run)' : ''}`, ...rows.map(([k, v]) => `  ${k.padEnd(11)}${v}`)];
  return `${lines.join('\n')}\nConfig: ${info.configJson}\n`;
}

export function summaryText(status: RunStatus, summary: RunSummary, runDir: string, outDir: string): string {
  const head =
    status === 'finished'
      ? `Finished ${summary.samples_done} samples`
      : status === 'already-finished'
        ? `This run was already finished: ${summary.samples_done} samples`
        : `Stopped after ${summary.samples_done + summary.files_skipped} of ${summary.samples_total} samples`;
  const timing = summary.seconds_per_sample > 0 ? ` (${summary.seconds_per_sample.toFixed(2)} s/sample on ${summary.backend})` : '';
  const lines = [
    `${head}${summary.files_skipped > 0 ? `, ${summary.files_skipped} unreadable file(s) skipped (see skipped.jsonl)` : ''}${timing}.`,
    `             top-1     top-5     ECE`,
    `  base     ${percent(summary.top1_base).padStart(8)}  ${percent(summary.top5_base).padStart(8)}  ${summary.ece_base.toFixed(4)}`,
    `  TPT      ${percent(summary.top1_tpt).padStart(8)}  ${percent(summary.top5_tpt).padStart(8)}  ${summary.ece_tpt.toFixed(4)}`,
    `  TPT fixed ${summary.improved} base error(s) and broke ${summary.worsened} correct base prediction(s).`,
    `Results: ${runDir}/ (samples.jsonl, summary.json, TensorBoard events, log.jsonl)`,
    `Open in TensorBoard: tensorboard --logdir ${outDir}   (TensorBoard is a Python tool: pip install tensorboard)`,
  ];
  if (status === 'interrupted') lines.push('Run the same command again to continue where it stopped; add --fresh to start over.');
  if (status === 'already-finished') lines.push('Nothing to do; add --fresh to run it again, or set another run_name to keep both.');
  return `${lines.join('\n')}\n`;
}

export function progressLine(p: ProgressSnapshot): string {
  const rate = p.sessionSeconds > 0 ? p.doneThisSession / p.sessionSeconds : 0;
  const eta = rate > 0 ? formatDuration((p.total - p.done) / rate) : '?';
  return (
    `[tpt] ${p.done}/${p.total} (${((100 * p.done) / Math.max(1, p.total)).toFixed(1)}%) · ${rate.toFixed(2)} samples/s · ` +
    `base top-1 ${percent(p.top1Base)} · TPT top-1 ${percent(p.top1Tpt)}${p.skipped > 0 ? ` · ${p.skipped} skipped` : ''} · ETA ${eta}\n`
  );
}

export function createConsoleReporter(options: ConsoleReporterOptions): RunReporter {
  const logEveryMs = (options.logEverySeconds ?? 30) * 1000;
  let bar: cliProgress.SingleBar | undefined;
  let lastLine = -Infinity;
  return {
    banner(info) {
      options.out.write(bannerText(info));
      if (options.tty) {
        bar = new cliProgress.SingleBar({
          stream: options.err,
          format: ' {bar} {value}/{total} | {rate} samples/s | base top-1 {base} | TPT top-1 {tpt}{skipped} | ETA {eta_formatted}',
          hideCursor: true,
          etaBuffer: 20,
        });
        bar.start(info.total, info.alreadyDone, { rate: '-', base: '-', tpt: '-', skipped: '' });
      }
    },
    progress(p) {
      const rate = p.sessionSeconds > 0 ? (p.doneThisSession / p.sessionSeconds).toFixed(2) : '-';
      if (bar) {
        bar.update(p.done, { rate, base: percent(p.top1Base), tpt: percent(p.top1Tpt), skipped: p.skipped > 0 ? ` | ${p.skipped} skipped` : '' });
        return;
      }
      const now = Date.now();
      if (now - lastLine >= logEveryMs || p.done === p.total) {
        lastLine = now;
        options.err.write(progressLine(p));
      }
    },
    skipped(file, error) {
      // Under a live bar a line would break its redraw; the bar's count and the final summary report them.
      if (!bar) options.err.write(`[tpt] skipped ${file}: ${error}\n`);
    },
    notice(message) {
      options.err.write(`[tpt] ${message}\n`);
    },
    end(status, summary, runDir, outDir) {
      bar?.stop();
      bar = undefined;
      options.out.write(summaryText(status, summary, runDir, outDir));
    },
  };
}
