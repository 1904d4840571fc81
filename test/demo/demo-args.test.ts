import { describe, expect, it } from 'vitest';
import { demoSets, parseDemoArgs } from '../../src/demo/run-demo.js';

describe('demo arguments', () => {
  it('turn --smoke, --out-dir and --set into tpt run overrides', () => {
    const options = parseDemoArgs(['--smoke', '--out-dir', '/tmp/ci runs', '--set', 'seed=3'], '/repo', process.stdout);
    expect(typeof options).toBe('object');
    if (typeof options === 'string') return;
    expect(demoSets(options)).toEqual(['reduced_size=3', 'out_dir="/tmp/ci runs"', 'seed=3']);
  });

  it('print the usage for --help and refuse unknown arguments', () => {
    expect(parseDemoArgs(['--help'], '/repo', process.stdout)).toMatch(/^usage: node scripts\/demo.mjs/);
    expect(parseDemoArgs(['--fast'], '/repo', process.stdout)).toMatch(/unknown argument "--fast"/);
  });
});
