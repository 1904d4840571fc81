import type { Command } from 'commander';

// Placeholder registration: the issue that owns `tpt bench` replaces this file.
export function registerBench(program: Command): void {
  void program;
}
