/**
 * What the speed benchmarks share: the backend request from the command line or the environment,
 * the PyTorch reference (bench/train_reference.py), right-aligned tables, and clear errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isUserError } from '../core/errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));
// Beside this file when run from source; two levels up (dist/bench → bench) when compiled.
const REFERENCE = [join(HERE, 'train_reference.py'), resolve(HERE, '..', '..', 'bench', 'train_reference.py')].find(
  existsSync,
)!;

/** The value of `--name value` or `--name=value` on the command line, if given. */
export function argument(name: string, argv: readonly string[] = process.argv.slice(2)): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i]!.startsWith(`--${name}=`)) return argv[i]!.slice(name.length + 3);
  }
  return undefined;
}

/** `--backend`, else SIMKIT_BACKEND, else `auto` (what initEngine takes). */
export function backendRequest(): string {
  return argument('backend') ?? process.env.SIMKIT_BACKEND ?? 'auto';
}

export interface Reference<T> {
  readonly torch: string;
  readonly threads: number;
  readonly results: T;
}

/**
 * Runs bench/train_reference.py (`mode` train, embed or sgemm) with `threads` threads, timing `runs` runs back to
 * back (train and embed); undefined, with the reason printed, where python3-torch is missing or the run fails.
 */
export function pytorch<T>(
  mode: 'train' | 'embed' | 'sgemm',
  threads: number,
  specs: readonly string[],
  runs = 1,
  precision: 'f32' | 'bf16' = 'f32',
): Reference<T> | undefined {
  const args = [
    REFERENCE,
    '--threads',
    String(threads),
    '--runs',
    String(runs),
    '--precision',
    precision,
    mode,
    ...specs,
  ];
  const run = spawnSync('/usr/bin/python3', args, {
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  if (run.status !== 0) {
    const reason = (run.stderr || run.error?.message || 'failed').trim().split('\n').at(-1);
    process.stdout.write(
      `PyTorch reference (${mode}, ${threads} thread${threads === 1 ? '' : 's'}) not run: ${reason} (install Debian's python3-torch)\n`,
    );
    return undefined;
  }
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Reference<T>;
}

/** PyTorch's thread counts: one, and every core. */
export function referenceThreads(): number[] {
  const cores = cpus().length;
  return cores > 1 ? [1, cores] : [1];
}

/** Prints a table: the first column left-aligned, the others right-aligned, each as wide as its widest cell. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  process.stdout.write(
    `${line(header)}\n${line(widths.map((width) => '-'.repeat(width)))}\n${rows.map(line).join('\n')}\n`,
  );
}

/** The run's date and the machine's cores and load, so that a pasted table says when and how busy. */
export function machineLine(): string {
  const [one, five] = loadavg();
  return (
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores, load average ` +
    `${one!.toFixed(1)} (1 min), ${five!.toFixed(1)} (5 min)`
  );
}

/** `measured / reference` as "0.42×", or "—" without a reference. */
export function ratio(measured: number, reference: number | undefined): string {
  return reference ? `${(measured / reference).toFixed(2)}×` : '—';
}

/**
 * Runs a benchmark's main: a UserError prints its message and hint and sets the exit code; anything else is a bug and
 * keeps its stack.
 */
export async function runBenchmark(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (!isUserError(error)) throw error;
    process.stderr.write(`bench: ${error.message}\n${error.hint ? `  fix: ${error.hint}\n` : ''}`);
    process.exitCode = error.exitCode;
  }
}
