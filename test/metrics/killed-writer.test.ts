/**
 * A writer process killed with SIGKILL while it writes leaves an event file whose records are whole and
 * CRC-valid except, at most, the last one: Linux may cut a write(2) to a regular file short when a fatal
 * signal arrives (generic_perform_write stops at a page boundary), so a torn final record is possible and
 * is not a defect. repairEventFile (run when a run resumes) must cut exactly that tail, after which the file
 * reads as whole records. Damage anywhere before the tail is never a torn tail and must fail.
 * The child runs the real src/metrics code, transpiled to plain ESM in a temporary folder (no build needed).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { readEventDir } from '../../src/metrics/event-reader.js';
import { repairEventFile } from '../../src/metrics/event-writer.js';
import { splitRecords, splitRecordsWithTail } from './independent-decoder.js';

const repo = path.resolve(new URL('../..', import.meta.url).pathname);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tpt-killed-writer-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

let transpiled: string | undefined;

function transpileMetrics(): string {
  if (transpiled) return transpiled;
  const files = [
    'src/errors.ts',
    'src/io/record-appender.ts',
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
  transpiled = child;
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

/**
 * The guarantee for one event file: whole CRC-valid records, then at most one torn record; the reader reports
 * exactly that tail; repairEventFile cuts exactly it; afterwards the file splits into whole records and its
 * events are in order (scalar i, then text i, for every i written).
 */
function expectWholeRecordsThenRepair(filePath: string): { tornBytes: number; records: number } {
  const bytes = fs.readFileSync(filePath);
  const { records, tailOffset } = splitRecordsWithTail(bytes);
  const tornBytes = bytes.length - tailOffset;
  const [read] = readEventDir(path.dirname(filePath));
  if (tornBytes === 0) expect(read?.truncated).toBeNull();
  else expect(read?.truncated?.offset).toBe(tailOffset);
  expect(repairEventFile(filePath)).toBe(tornBytes);
  const repaired = fs.readFileSync(filePath);
  expect(repaired.length).toBe(tailOffset);
  expect(splitRecords(repaired)).toHaveLength(records.length);
  const [after, ...others] = readEventDir(path.dirname(filePath));
  expect(others).toHaveLength(0);
  expect(after?.truncated).toBeNull();
  const steps = after?.events.slice(1).map((e) => e.step) ?? [];
  expect(steps).toEqual(steps.map((_, k) => Math.floor(k / 2)));
  return { tornBytes, records: records.length };
}

describe('a killed writer', () => {
  it('leaves whole records but for at most a torn last one, which the repair cuts exactly', async () => {
    const child = transpileMetrics();
    for (const afterMs of [20, 170]) {
      const logDir = path.join(work, `run-${afterMs}`);
      await runAndKill(child, logDir, afterMs);
      const files = fs.readdirSync(logDir);
      expect(files).toHaveLength(1);
      const { records } = expectWholeRecordsThenRepair(path.join(logDir, files[0]!));
      expect(records).toBeGreaterThan(200);
    }
  });

  it('a tail torn at any byte is cut exactly; a damaged record before the tail fails', async () => {
    const child = transpileMetrics();
    const logDir = path.join(work, 'run-source');
    await runAndKill(child, logDir, 20);
    const source = path.join(logDir, fs.readdirSync(logDir)[0]!);
    repairEventFile(source);
    const whole = fs.readFileSync(source);
    const { records } = splitRecordsWithTail(whole);
    const lastLength = records[records.length - 1]!.length + 16;
    const lastStart = whole.length - lastLength;
    // Cut inside the header, inside the data and inside the footer of the last record.
    for (const keep of [5, 12 + Math.floor((lastLength - 16) / 2), lastLength - 2]) {
      const dir = path.join(work, `torn-${keep}`);
      fs.mkdirSync(dir);
      const file = path.join(dir, path.basename(source));
      fs.writeFileSync(file, whole.subarray(0, lastStart + keep));
      expect(expectWholeRecordsThenRepair(file)).toEqual({ tornBytes: keep, records: records.length - 1 });
    }
    // One flipped byte in a middle record's data: not a torn tail, so the check and the repair both refuse it.
    const dir = path.join(work, 'damaged');
    fs.mkdirSync(dir);
    const file = path.join(dir, path.basename(source));
    const damaged = Buffer.from(whole);
    const middle = Math.floor(whole.length / 2);
    damaged[middle] = damaged[middle]! ^ 0xff;
    fs.writeFileSync(file, damaged);
    expect(() => expectWholeRecordsThenRepair(file)).toThrow();
    expect(() => repairEventFile(file)).toThrow(/CRC|corrupt/i);
    expect(fs.readFileSync(file).length).toBe(whole.length);
  });
});
