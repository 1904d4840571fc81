import type { Command } from 'commander';

// Placeholder registration: the issue that owns `tpt convert` replaces this file.
export function registerConvert(program: Command): void {
  void program;
}
