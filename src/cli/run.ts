import type { Command } from 'commander';

// Placeholder registration: the issue that owns `tpt run` replaces this file.
export function registerRun(program: Command): void {
  void program;
}
