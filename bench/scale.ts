/**
 * `make bench-scale`: the whole Shopee pipeline (`simkit run shopee --data <set>`) on generated Shopee-like sets
 * (bench/generate-shopee-like.ts; written once, then reused), one run per size. Prints each phase's wall time,
 * items/s and peak resident memory, the run's peak memory, and both next to the issue's targets for 34,250 postings
 * (40 minutes, 4 GB).
 *
 * Memory is measured twice: inside the run, each phase's peak VmHWM (the kernel's high-water mark of the process,
 * reset at each phase start through /proc/self/clear_refs; the decoder workers are threads of the process, so they
 * count), and from here, by sampling VmRSS of the run's process and its descendants every 200 ms.
 *
 *   node dist/bench/scale.js [--postings 34250[,10000,…]] [--seed 1] [--hard 0.3] [--epochs N] [--out DIR]
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';
import type { PhaseRecord } from '../core/pipeline/phases.js';
import { generateShopeeLike, optionsFromArguments, type ShopeeLikeOptions } from './generate-shopee-like.js';
import { argument, machineLine, printTable, runBenchmark } from './harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET_SECONDS = 40 * 60;
const TARGET_RSS_MB = 4096;
const TARGET_POSTINGS = 34_250;

/** Where the set of these options is kept (the Makefile's shopee-like target writes the same path). */
export function shopeeLikeDir(options: ShopeeLikeOptions): string {
  return join(ROOT, 'output', `shopee-like-${options.postings}-seed${options.seed}-hard${options.hard}`);
}

/** Resident memory (kB) of `pid` and every process below it, from /proc. */
function treeRssKb(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent pid is the 2nd field after the parenthesised command name.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const next = stack.pop()!;
    try {
      total += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${next}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      continue;
    }
    stack.push(...(children.get(next) ?? []));
  }
  return total;
}

interface RunOutcome {
  readonly seconds: number;
  readonly sampledPeakMb: number;
  readonly phases: PhaseRecord[];
  readonly summary: string;
}

/** `simkit run shopee` on `data` as a child process, its memory sampled until it ends. */
async function runPipeline(data: string, out: string, epochs: string | undefined): Promise<RunOutcome> {
  const args = [join(ROOT, 'bin', 'simkit.js'), 'run', 'shopee', '--data', data, '--out', out];
  if (epochs) args.push('--epochs', epochs);
  process.stdout.write(`$ node ${args.map((a) => (a.startsWith(ROOT) ? a.slice(ROOT.length + 1) : a)).join(' ')}\n`);
  const started = performance.now();
  // stderr passes through: the run's progress bars (with ETA) show on a terminal.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  let peakKb = 0;
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, treeRssKb(child.pid!))), 200);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new UserError(`simkit run shopee --data ${data} failed (exit ${code})\n${stdout}`);
  const phasesFile = join(out, 'run', 'phases.json');
  return {
    seconds,
    sampledPeakMb: Math.round(peakKb / 1024),
    phases: JSON.parse(readFileSync(phasesFile, 'utf8')) as PhaseRecord[],
    summary: stdout,
  };
}

/** Phases of the same name (the embedding of each epoch's validation, say) added up: time, items, largest peak. */
function phaseRows(phases: readonly PhaseRecord[], total: number): string[][] {
  const byName = new Map<
    string,
    { depth: number; seconds: number; items: number | null; peak: number; count: number }
  >();
  for (const record of phases) {
    const row = byName.get(record.name);
    if (!row) byName.set(record.name, { ...record, peak: record.peakRssMb, count: 1 });
    else {
      row.seconds += record.seconds;
      row.items = row.items === null || record.items === null ? null : row.items + record.items;
      row.peak = Math.max(row.peak, record.peakRssMb);
      row.count += 1;
    }
  }
  return [...byName.entries()].map(([name, row]) => [
    `${'  '.repeat(row.depth)}${name.split('/').at(-1)}${row.count > 1 ? ` (×${row.count})` : ''}`,
    row.seconds.toFixed(1),
    `${((100 * row.seconds) / total).toFixed(1)} %`,
    row.items === null ? '—' : String(row.items),
    row.items === null || row.seconds === 0 ? '—' : (row.items / row.seconds).toFixed(1),
    String(row.peak),
  ]);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const sizes = (argument('postings', argv) ?? String(TARGET_POSTINGS)).split(',').map((size) => size.trim());
  const epochs = argument('epochs', argv);
  const curve: string[][] = [];
  for (const size of sizes) {
    const options = optionsFromArguments([...argv.filter((a) => !a.startsWith('--postings')), '--postings', size]);
    const data = shopeeLikeDir(options);
    if (!existsSync(join(data, 'train.csv'))) {
      process.stdout.write(`writing the set: ${data}\n`);
      await generateShopeeLike(data, options);
    }
    const out = resolve(argument('out', argv) ?? join(ROOT, 'output', 'bench-scale'), String(options.postings));
    process.stdout.write(`\n${machineLine()}\n`);
    const run = await runPipeline(data, out, epochs);
    process.stdout.write(`${machineLine()}\n${run.summary}\n`);
    const top = run.phases.filter((p) => p.depth === 0);
    const accounted = top.reduce((sum, p) => sum + p.seconds, 0);
    const phasePeak = Math.max(...run.phases.map((p) => p.peakRssMb));
    printTable(
      [
        `phase (${options.postings} train + ${options.testPostings} test postings)`,
        's',
        'share',
        'items',
        'items/s',
        'peak RSS MB',
      ],
      [
        ...phaseRows(run.phases, run.seconds),
        [
          'other (start, writing the outputs)',
          (run.seconds - accounted).toFixed(1),
          `${((100 * (run.seconds - accounted)) / run.seconds).toFixed(1)} %`,
          '—',
          '—',
          '—',
        ],
        [
          'end to end',
          run.seconds.toFixed(1),
          '100 %',
          String(options.postings + options.testPostings),
          ((options.postings + options.testPostings) / run.seconds).toFixed(1),
          String(Math.max(phasePeak, run.sampledPeakMb)),
        ],
      ],
    );
    process.stdout.write(
      `peak RSS: ${phasePeak} MB inside the run (VmHWM per phase), ${run.sampledPeakMb} MB sampled from outside (process tree)\n` +
        `targets for ${TARGET_POSTINGS} postings: ${(run.seconds / 60).toFixed(1)} min / 40 min = ${(run.seconds / TARGET_SECONDS).toFixed(2)}×, ` +
        `${Math.max(phasePeak, run.sampledPeakMb)} MB / ${TARGET_RSS_MB} MB = ${(Math.max(phasePeak, run.sampledPeakMb) / TARGET_RSS_MB).toFixed(2)}×` +
        `${options.postings === TARGET_POSTINGS ? '' : ` (this run has ${options.postings} postings)`}\n`,
    );
    curve.push([
      String(options.postings),
      String(options.testPostings),
      run.seconds.toFixed(0),
      String(Math.max(phasePeak, run.sampledPeakMb)),
    ]);
  }
  if (curve.length > 1) {
    process.stdout.write('\nmemory and time as the set grows\n');
    printTable(['train postings', 'test postings', 'end to end s', 'peak RSS MB'], curve);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runBenchmark(main);
