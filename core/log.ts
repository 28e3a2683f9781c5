/** Diagnostics go to stderr so that stdout stays clean for data (`--json`, CSV). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

let verbose = process.env.SIMKIT_VERBOSE === '1';
let quiet = false;

export function configureLogging(options: { verbose?: boolean; quiet?: boolean }): void {
  if (options.verbose !== undefined) verbose = options.verbose;
  if (options.quiet !== undefined) quiet = options.quiet;
}

export function isVerbose(): boolean {
  return verbose;
}

export const log: Logger = {
  info: (message) => {
    if (!quiet) process.stderr.write(`${message}\n`);
  },
  warn: (message) => process.stderr.write(`warning: ${message}\n`),
  debug: (message) => {
    if (verbose) process.stderr.write(`debug: ${message}\n`);
  },
};
