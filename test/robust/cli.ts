import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TptConfig } from '../../src/config/schema.js';

/** Runs the installed command line (`node bin/tpt.js`, the compiled dist/) as a user would. */

const ROOT = new URL('../..', import.meta.url).pathname;

export interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function spawnTpt(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tpt.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, TPT_DEBUG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** A config file holding every key of `config` (as `tpt run --config` reads it). */
export function writeConfigFile(config: TptConfig, path: string): string {
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
