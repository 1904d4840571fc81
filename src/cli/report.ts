import type { Command } from 'commander';

// Placeholder registration: the issue that owns `tpt report` replaces this file.
export function registerReport(program: Command): void {
  void program;
}
