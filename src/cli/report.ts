import { Option } from 'commander';
import type { Command } from 'commander';
import { REPORT_FORMATS } from '../report/format-table.js';
import type { ReportFormat } from '../report/format-table.js';
import { buildReport } from '../report/report.js';

interface ReportFlags {
  format: ReportFormat;
  table1?: boolean;
  plot?: string;
  by?: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'One table row per run (seed style): augmenter, loss, naug, npatch, overlap, augmix, base/TPT top-1 and top-5, improved, worsened, ECE, samples, s/sample. ' +
        'Rows are grouped by backbone and dataset (shown as columns when the runs span several). --table1 prints the TPT paper\'s Table 1 layout instead.',
    )
    .argument('<runs...>', "run folders, folders of runs, or globs (quote them to let tpt expand: 'runs/*overlap*')")
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('md'))
    .option('--plot <out.png>', 'also draw TPT top-1 against --by, one line per combination of the other varying keys')
    .option('--by <config key>', 'x axis of --plot (default: overlap if it varies, else the first varying key)')
    .option(
      '--table1',
      'TPT paper Table 1 layout: one table per backbone (config/summary arch); rows are methods, columns ImageNet, -A, -V2, -R, -Sketch, Average, OOD Average (A, V2, R, Sketch); cells are top-1 in %',
    )
    .addHelpText(
      'after',
      `
Examples:
  tpt report runs/*                                  Markdown table of every run
  tpt report 'runs/*PatchAugmenter*' --format csv > overlap.csv
  tpt report runs --format json
  tpt report 'runs/sweep-overlap*' --plot overlap.png --by overlap
  tpt report 'runs/table1-*' --table1                 Table 1: methods × datasets, per backbone

Table 1 (--table1): the method of a run comes from its config: coop_weight_path set = CoOp, tta_steps > 0 =
TPT, so the rows are zero-shot ("a photo of a", the ctx_init), CoOp, TPT ("a photo of a") and CoOp + TPT;
settings that differ between runs of one method are added to the row's label. A cell is the run's TPT
top-1 (an untuned run's equals its base top-1). Average is over the five datasets, OOD Average over A, V2,
R and Sketch; with datasets missing they are over those present and marked †. --format csv/json work too.`,
    )
    .action(async (runs: string[], flags: ReportFlags) => {
      const result = await buildReport(runs, { format: flags.format, plot: flags.plot, by: flags.by, table1: flags.table1 ?? false });
      process.stdout.write(result.text);
      if (result.plot) {
        process.stderr.write(
          `wrote ${result.plot.path} (${result.plot.width}×${result.plot.height}, TPT top-1 by ${result.plot.by}, ${result.plot.lines} line${result.plot.lines === 1 ? '' : 's'})\n`,
        );
      }
    });
}
