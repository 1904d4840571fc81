/**
 * A writer process killed with SIGKILL while it writes leaves an event file of whole, CRC-valid records.
 * The child runs the real src/metrics code, transpiled to plain ESM in a temporary folder (no build needed).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { readEventDir } from '../../src/metrics/event-reader.js';
import { splitRecords } from './independent-decoder.js';

const repo = path.resolve(new URL('../..', import.meta.url).pathname);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tpt-killed-writer-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function transpileMetrics(): string {
  const files = [
    'src/errors.ts',
    ...fs.readdirSync(path.join(repo, 'src/metrics')).filter((f) => f.endsWith('.ts')).map((f) => `src/metrics/${f}`),
  ];
  for (const file of files) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(repo, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const out = path.join(work, file.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, outputText);
  }
  fs.writeFileSync(path.join(work, 'package.json'), '{"type":"module"}');
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(work, 'node_modules'));
  const child = path.join(work, 'child.js');
  fs.writeFileSync(
    child,
    `import { EventWriter } from './src/metrics/event-writer.js';
const writer = EventWriter.create(process.argv[2], { maxQueue: 7 });
for (let i = 0; ; i++) {
  writer.addScalar('Loss/value', i, i);
  writer.addText('statistics/global', 'x'.repeat(i % 3000), i);
  if (i === 99) {
    writer.flush();
    process.stdout.write('ready\\n');
  }
}
`,
  );
  return child;
}

async function runAndKill(child: string, logDir: string, afterMs: number): Promise<void> {
  const proc = spawn(process.execPath, [child, logDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  proc.kill('SIGKILL');
  await exited;
}

describe('a killed writer', () => {
  it('leaves only whole records', async () => {
    const child = transpileMetrics();
    for (const afterMs of [20, 170]) {
      const logDir = path.join(work, `run-${afterMs}`);
      await runAndKill(child, logDir, afterMs);
      const [file, ...others] = readEventDir(logDir);
      expect(others).toHaveLength(0);
      expect(file?.truncated).toBeNull();
      const records = splitRecords(fs.readFileSync(file?.path as string));
      expect(records.length).toBeGreaterThan(200);
      // Records are in order and complete: scalar i, then text i, for every i written.
      const steps = file?.events.slice(1).map((e) => e.step) ?? [];
      expect(steps).toEqual(steps.map((_, k) => Math.floor(k / 2)));
    }
  });
});
