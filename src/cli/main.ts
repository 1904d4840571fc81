import { Command, CommanderError } from 'commander';
import { isTptError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerConvert } from './convert.js';
import { registerClassify } from './classify.js';
import { registerDataset } from './dataset.js';
import { registerPreview } from './preview.js';
import { registerRun } from './run.js';
import { registerReport } from './report.js';
import { registerMerge } from './merge.js';
import { registerBench } from './bench.js';

/**
 * Builds the command tree. Each command lives in its own file and stays thin: parse options, call one
 * library function, print, and return an exit code. Only `main` turns errors into exit codes.
 */
export function buildProgram(): Command {
  const program = new Command('tpt')
    .version(VERSION)
    .description(
      'Test-time prompt tuning (TPT) of CLIP RN50 with CoOp prompts on ImageNet-A, in TypeScript.\n' +
        'Start with `tpt run --config configs/baseline.json`; every command has --help with examples.',
    )
    .showHelpAfterError('(add --help for usage and examples)')
    .exitOverride();
  registerRun(program);
  registerClassify(program);
  registerConvert(program);
  registerDataset(program);
  registerPreview(program);
  registerReport(program);
  registerMerge(program);
  registerBench(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit with code 0; usage errors were already printed by commander
      return e.exitCode;
    }
    if (isTptError(e)) {
      process.stderr.write(`tpt: ${e.message}\n`);
      if (e.hint) process.stderr.write(`  → ${e.hint}\n`);
      return e.exitCode;
    }
    process.stderr.write(`tpt: unexpected error (this is a bug; please report it)\n${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}
