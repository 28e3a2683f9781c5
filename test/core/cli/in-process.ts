// Runs the CLI in this process with captured output, a working directory and environment of its own.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../../core/cli/main.js';
import { configureLogging } from '../../../core/log.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `simkit <args>` in `cwd` with `env` added to the environment; both are restored afterwards. */
export async function simkitInProcess(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): Promise<CliResult> {
  const saved = { cwd: process.cwd(), env: { ...process.env } };
  let stdout = '';
  let stderr = '';
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  process.chdir(options.cwd);
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    const code = await main([...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.chdir(saved.cwd);
    process.env = saved.env;
    configureLogging({ verbose: false, quiet: false });
  }
}

/** Files under `dir` left by an interrupted atomic write (`.name.tmp-<pid>-<random>`). */
export function temporaries(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((path) => /\.tmp-\d+/.test(path))
    .map((path) => relative(dir, join(dir, path)));
}

/** A stack trace line (`    at f (file.ts:1:2)`): never shown without --verbose. */
export const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;
