import { Option } from 'commander';
import type { Command } from 'commander';
import { REPORT_FORMATS } from '../report/format-table.js';
import type { ReportFormat } from '../report/format-table.js';
import { buildReport } from '../report/report.js';

interface ReportFlags {
  format: ReportFormat;
  plot?: string;
  by?: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('One table row per run (seed style): augmenter, loss, naug, npatch, overlap, augmix, base/TPT top-1 and top-5, improved, worsened, ECE, samples, s/sample')
    .argument('<runs...>', "run folders, folders of runs, or globs (quote them to let tpt expand: 'runs/*overlap*')")
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('md'))
    .option('--plot <out.png>', 'also draw TPT top-1 against --by, one line per combination of the other varying keys')
    .option('--by <config key>', 'x axis of --plot (default: overlap if it varies, else the first varying key)')
    .addHelpText(
      'after',
      `
Examples:
  tpt report runs/*                                  Markdown table of every run
  tpt report 'runs/*PatchAugmenter*' --format csv > overlap.csv
  tpt report runs --format json
  tpt report 'runs/sweep-overlap*' --plot overlap.png --by overlap`,
    )
    .action(async (runs: string[], flags: ReportFlags) => {
      const result = await buildReport(runs, { format: flags.format, plot: flags.plot, by: flags.by });
      process.stdout.write(result.text);
      if (result.plot) {
        process.stderr.write(
          `wrote ${result.plot.path} (${result.plot.width}×${result.plot.height}, TPT top-1 by ${result.plot.by}, ${result.plot.lines} line${result.plot.lines === 1 ? '' : 's'})\n`,
        );
      }
    });
}
