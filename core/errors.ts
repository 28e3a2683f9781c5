/**
 * Errors a user can act on. The CLI prints `simkit: <message>` (plus the hint) and exits with
 * `exitCode`, without a stack trace unless --verbose is given. Anything else is a bug and is
 * reported with its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    /** 2 = bad usage or a missing component; 1 = the input itself is invalid. */
    readonly exitCode: number = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A data file that does not match what was expected; names the file, line and field. */
export class InputError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
    problem: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}${field ? ` (${field})` : ''}: ${problem}`, undefined, 1);
    this.name = 'InputError';
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
