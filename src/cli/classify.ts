import type { Command } from 'commander';

// Placeholder registration: the issue that owns `tpt classify` replaces this file.
export function registerClassify(program: Command): void {
  void program;
}
