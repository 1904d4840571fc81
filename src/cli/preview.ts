import type { Command } from 'commander';

// Placeholder registration: the issue that owns `tpt preview` replaces this file.
export function registerPreview(program: Command): void {
  void program;
}
