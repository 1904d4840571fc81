import { Command, CommanderError } from 'commander';
import { isTptError } from '../errors.js';
import { outputWriteError } from '../run/write-failure.js';
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
      "Test-time prompt tuning (TPT) of OpenAI's CLIP (ResNet or ViT) with CoOp prompts on ImageNet-A and the TPT paper's\n" +
        'other test sets (ImageNet, -V2, -R, -Sketch; the ten fine-grained sets of its Table 2), in TypeScript, on ONNX Runtime or TensorFlow.js.\n' +
        'Start with `tpt run --config configs/baseline.json`; every command has --help with examples.',
    )
    .option('--debug', 'print stack traces with error messages (also TPT_DEBUG=1); accepted anywhere on the line')
    // Usage errors reach `main` as CommanderErrors and are printed there like every other user error
    // (`tpt: …` and a hint, exit 2); commander's own `error: …` line is not written. Help and version
    // still print. Subcommands inherit both settings (program.command copies them).
    .configureOutput({ outputError: () => undefined })
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

/** `--debug` anywhere on the command line, or TPT_DEBUG=1: errors come with their stacks. */
function takeDebugFlag(argv: string[]): { argv: string[]; debug: boolean } {
  const rest = argv.filter((arg, i) => i < 2 || arg !== '--debug');
  const fromEnv = process.env.TPT_DEBUG !== undefined && !['', '0', 'false'].includes(process.env.TPT_DEBUG);
  return { argv: rest, debug: fromEnv || rest.length !== argv.length };
}

function causeChain(e: unknown): string {
  const lines: string[] = [];
  for (let c = (e as { cause?: unknown }).cause, depth = 0; c !== undefined && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    lines.push(`Caused by: ${(c as Error)?.stack ?? String(c)}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** The exit status of every user error (TptError's default), usage errors included. */
const USAGE_EXIT = 2;

/** `tpt`, `tpt run`, `tpt dataset verify`: the deepest command named on the line, for the usage hint. */
function commandPath(program: Command, argv: string[]): string {
  const names = [program.name()];
  let command = program;
  for (const arg of argv.slice(2)) {
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) continue;
    names.push(sub.name());
    command = sub;
  }
  return names.join(' ');
}

export async function main(argvWithFlags: string[]): Promise<number> {
  const { argv, debug } = takeDebugFlag(argvWithFlags);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version (exit code 0), and the help a bare `tpt` prints, are already on the screen
      if (e.exitCode === 0 || e.code === 'commander.help') return e.exitCode === 0 ? 0 : USAGE_EXIT;
      // commander's suggestion ("(Did you mean --config?)") goes on the one line
      const message = e.message.replace(/^error: /, '').replace(/\s*\n\((Did you mean [^)]*)\)$/, ' ($1)');
      process.stderr.write(`tpt: ${message}\n  → See \`${commandPath(program, argv)} --help\` for the usage and examples.\n`);
      return USAGE_EXIT;
    }
    // A disk that is full or read-only under an output (tpt convert --out, tpt merge --out) is the
    // environment, not a bug: reported like any user error.
    if (!isTptError(e)) e = outputWriteError(e) ?? e;
    if (isTptError(e)) {
      // A user's error: one line of what went wrong, one of what to do. Stacks only on request.
      process.stderr.write(`tpt: ${e.message}\n`);
      if (e.hint) process.stderr.write(`  → ${e.hint}\n`);
      if (debug) process.stderr.write(`[${e.code}] ${e.stack ?? ''}\n${causeChain(e)}`);
      return e.exitCode;
    }
    process.stderr.write(`tpt: unexpected error (this is a bug; please report it)\n${(e as Error)?.stack ?? String(e)}\n${causeChain(e)}`);
    return 1;
  }
}
