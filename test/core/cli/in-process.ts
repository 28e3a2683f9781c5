// Runs the CLI in this process with captured output, a working directory and environment of its own.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { main } from '../../../core/cli/main.js';
import { configureLogging } from '../../../core/log.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `simkit <args>` in `cwd` with `env` added to the environment; both are restored afterwards. */
export async function simkitInProcess(args: readonly string[], options: { cwd: string; env?: Record<string, string | undefined> }): Promise<CliResult> {
  const saved = { cwd: process.cwd(), env: { ...process.env }, out: process.stdout.write, err: process.stderr.write };
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  process.chdir(options.cwd);
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    const code = await main([...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.chdir(saved.cwd);
    process.env = saved.env;
    configureLogging({ verbose: false, quiet: false });
  }
}

/** Files under `dir` left by an interrupted atomic write (`.name.tmp-<pid>-<random>`). */
export function temporaries(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((path) => /\.tmp-\d+/.test(path)).map((path) => relative(dir, join(dir, path)));
}

/** A stack trace line (`    at f (file.ts:1:2)`): never shown without --verbose. */
export const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;
