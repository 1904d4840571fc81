import type { Command } from 'commander';

// Placeholder registration: the issue that owns `tpt dataset` replaces this file.
export function registerDataset(program: Command): void {
  void program;
}
