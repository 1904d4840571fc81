import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../workers/ensure-dist.js';

/** `tpt … | head` closes the pipe before tpt has written everything: no stack trace, no failure status. */
describe('a closed stdout pipe', () => {
  it('ends tpt quietly with the status it had', async () => {
    ensureDistBuilt();
    const child = spawn(process.execPath, ['bin/tpt.js', 'bench', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first write
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    expect(code).toBe(0);
  });
});
