import { Option } from 'commander';
import type { Command } from 'commander';
import { REPORT_FORMATS } from '../report/format-table.js';
import type { ReportFormat } from '../report/format-table.js';
import { buildReport } from '../report/report.js';

interface ReportFlags {
  format: ReportFormat;
  table1?: boolean;
  table2?: boolean;
  plot?: string;
  by?: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'One table row per run (seed style): augmenter, loss, naug, npatch, overlap, augmix, base/TPT top-1 and top-5, improved, worsened, ECE, samples, s/sample. ' +
        'Rows are grouped by backbone, dataset and method (shown as columns when the runs span several). --table1 / --table2 print the TPT paper\'s Table 1 / Table 2 layout instead.',
    )
    .argument('<runs...>', "run folders, folders of runs, or globs (quote them to let tpt expand: 'runs/*overlap*')")
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('md'))
    .option('--plot <out.png>', 'also draw TPT top-1 against --by, one line per combination of the other varying keys')
    .option('--by <config key>', 'x axis of --plot (default: overlap if it varies, else the first varying key)')
    .option(
      '--table1',
      'TPT paper Table 1 layout: one table per backbone (the architecture of the weights that ran); rows are methods, columns ImageNet, -A, -V2, -R, -Sketch, Average, OOD Average (A, V2, R, Sketch); cells are top-1 in %',
    )
    .option('--table2', 'TPT paper Table 2 layout: one table per backbone; rows are methods, columns the ten cross-dataset sets (Flower102 … UCF101) and their Average; cells are top-1 in %')
    .addHelpText(
      'after',
      `
Examples:
  tpt report runs/*                                  Markdown table of every run
  tpt report 'runs/*PatchAugmenter*' --format csv > overlap.csv
  tpt report runs --format json
  tpt report 'runs/sweep-overlap*' --plot overlap.png --by overlap
  tpt report 'runs/table1-*' --table1                 Table 1: methods × datasets, per backbone
  tpt report 'runs/table2-*' --table2                 Table 2: methods × the ten cross-dataset sets

Table 1 / Table 2: the method of a run is what its folder recorded it ran (summary.json / config.json
method, context, arch): the context came from a CoOp file or a CoOp context stored in converted weights =
CoOp, tta_steps > 0 = TPT, so TPT's rows are zero-shot ("a photo of a", the ctx_init), Ensemble (a template
ensemble), CoOp, TPT ("a photo of a") and CoOp + TPT; other methods are rows of their own (C-TPT, R-TPT,
Zero, MTA; online methods marked "(online)"). Folders written before those records are read from their
config. Settings that differ between runs of one method are added to the row's label. A cell is the run's
TPT top-1 (an untuned run's equals its base top-1). Average is over the table's sets (Table 1's OOD Average
over A, V2, R and Sketch); with sets missing they are over those present and marked †. --format csv/json
work too. A glob skips the folders it matches that are not runs (e.g. runs/demo-inputs), with one notice.`,
    )
    .action(async (runs: string[], flags: ReportFlags) => {
      const result = await buildReport(runs, { format: flags.format, plot: flags.plot, by: flags.by, table1: flags.table1 ?? false, table2: flags.table2 ?? false });
      if (result.skipped.length > 0) {
        process.stderr.write(`tpt: skipped ${result.skipped.length} folder${result.skipped.length === 1 ? '' : 's'} matched by a glob that ${result.skipped.length === 1 ? 'is not a run' : 'are not runs'}: ${result.skipped.join(', ')}\n`);
      }
      process.stdout.write(result.text);
      if (result.plot) {
        process.stderr.write(
          `wrote ${result.plot.path} (${result.plot.width}×${result.plot.height}, TPT top-1 by ${result.plot.by}, ${result.plot.lines} line${result.plot.lines === 1 ? '' : 's'})\n`,
        );
      }
    });
}
