/**
 * One error type for everything a user can cause (bad config, foreign checkpoint, missing dataset).
 * The CLI prints `message` and, when present, `hint` (what to do next) and exits with `exitCode`;
 * anything that is not a TptError is a bug and is printed with its stack.
 */
export class TptError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TptError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 2;
  }
}

export function isTptError(e: unknown): e is TptError {
  return e instanceof TptError;
}
