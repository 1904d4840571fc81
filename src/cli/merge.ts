import type { Command } from 'commander';

// Placeholder registration: the issue that owns `tpt merge` replaces this file.
export function registerMerge(program: Command): void {
  void program;
}
