import type { Command } from 'commander';
import { mergeShards } from '../merge/merge-shards.js';
import { expandDirectoryArgs } from '../report/glob.js';

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('Join the shard folders of one run (config shard "i/n") into the folder the unsharded run would have written')
    .argument('<shards...>', "the shards' run folders, or a quoted glob ('runs/*_shard=*of4')")
    .option('--out <folder>', "where to write the merged run folder (must not hold a run yet); default: the unsharded run's folder beside the shards")
    .addHelpText(
      'after',
      `
Checks: the shards share one config apart from "shard", each i of n is present once, every shard finished,
and no sample appears twice. The merged folder has samples.jsonl in index order, a recomputed summary.json,
config.json with shard null, and a regenerated TensorBoard event file.

Examples:
  tpt merge 'runs/*overlap=0.8*_shard=*of4'          into the unsharded run's folder, runs/<its name>
  tpt merge runs/*_shard=*of4 --out runs/merged-overlap08
  tpt merge 'runs/*_shard=*' --out runs/merged && tpt report runs/merged`,
    )
    .action(async (patterns: string[], flags: { out?: string }) => {
      const shards = await expandDirectoryArgs(patterns, 'shard folder');
      const result = mergeShards(shards, flags.out);
      const s = result.summary;
      process.stdout.write(
        `merged ${result.shards} shards into ${result.dir}: ${result.samples} samples` +
          (result.skipped ? `, ${result.skipped} files skipped` : '') +
          `; top-1 base ${s.top1_base.toFixed(4)}, TPT ${s.top1_tpt.toFixed(4)}; improved ${s.improved}, worsened ${s.worsened}\n` +
          `  events: ${result.eventFile}${result.imagesCopied ? ` (${result.imagesCopied} images copied from the shards)` : ''}\n` +
          `  next: tpt report ${result.dir}   |   tensorboard --logdir ${result.dir}\n`,
      );
    });
}
