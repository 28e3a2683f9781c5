// Scoring speed on 1,000,000-row files: simkit's scorer (csv-parse stream, validation included)
// against a straightforward Python/numpy scorer of the same metric (bench/score_reference.py) on
// the same solution and submission, for GAP and MAP@5. Each runs in its own process so that its
// peak memory (max RSS) is its own. Prints time, memory, their ratios, and whether the scores agree.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { Random } from '../core/random.js';
import { scoreFiles } from '../core/scoring/score.js';
import { Simkit } from '../core/di/container.js';
import { resolveScoringSpec } from '../core/scoring/registration.js';

const ROWS = Number(process.env.SCORE_BENCH_ROWS ?? 1_000_000);
const DATA_DIR = join(tmpdir(), `simkit-bench-score-${ROWS}`);

interface Measured {
  readonly score: number | null;
  readonly public: number | null;
  readonly private: number | null;
  readonly seconds: number;
  readonly maxRssMb: number;
}

interface Case {
  readonly metric: 'gap' | 'map5';
  readonly competition: string;
  readonly header: string;
  readonly truth: (random: Random) => string;
  readonly prediction: (random: Random, truth: string) => string;
}

const usage = (random: Random) => (random.next() < 0.5 ? 'Public' : 'Private');

const CASES: Case[] = [
  {
    metric: 'gap',
    competition: 'landmark-recognition-2021',
    header: 'id,landmarks',
    // Most test images show no landmark; confidences with 3 decimals make many ties.
    truth: (random) => (random.next() < 0.6 ? '' : String(random.int(80_000))),
    prediction: (random, truth) => {
      if (random.next() < 0.1) return '';
      const label = truth !== '' && random.next() < 0.4 ? truth : String(random.int(80_000));
      return `${label} ${random.next().toFixed(3)}`;
    },
  },
  {
    metric: 'map5',
    competition: 'hotel-id-2021-fgvc8',
    header: 'image,hotel_id',
    truth: (random) => String(random.int(7_770)),
    prediction: (random, truth) => {
      const labels = Array.from({ length: 5 }, () => String(random.int(7_770)));
      if (random.next() < 0.5) labels[random.int(5)] = truth;
      return labels.join(' ');
    },
  },
];

async function writeLines(path: string, lines: (i: number) => string, header: string): Promise<void> {
  const out = createWriteStream(path);
  out.write(`${header}\n`);
  for (let i = 0; i < ROWS; i++) {
    if (!out.write(`${lines(i)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Writes the solution and a shuffled-order submission once; later runs reuse them. */
async function files(testCase: Case): Promise<{ solution: string; submission: string }> {
  mkdirSync(DATA_DIR, { recursive: true });
  const solution = join(DATA_DIR, `${testCase.metric}-solution.csv`);
  const submission = join(DATA_DIR, `${testCase.metric}-submission.csv`);
  if (existsSync(solution) && existsSync(submission)) return { solution, submission };
  const random = new Random(20_260_101);
  const ids = Array.from({ length: ROWS }, (_, i) =>
    (i * 2_654_435_761 + 12_345).toString(16).padStart(16, '0').slice(-16),
  );
  const truths = ids.map(() => testCase.truth(random));
  await writeLines(solution, (i) => `${ids[i]},${truths[i]},${usage(random)}`, `${testCase.header},Usage`);
  const order = Array.from({ length: ROWS }, (_, i) => i);
  for (let i = ROWS - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  await writeLines(
    submission,
    (i) => `${ids[order[i]!]},${testCase.prediction(random, truths[order[i]!]!)}`,
    testCase.header,
  );
  return { solution, submission };
}

function runChild(command: string, args: string[]): Measured {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  const parsed = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, number | null>;
  return {
    score: parsed.score!,
    public: parsed.public!,
    private: parsed.private!,
    seconds: parsed.seconds!,
    maxRssMb: parsed.max_rss_mb!,
  };
}

/** In the child: score with simkit and print what the Python reference prints. */
async function scoreInThisProcess(competition: string, solution: string, submission: string): Promise<void> {
  const spec = resolveScoringSpec(await Simkit.create(), competition);
  const start = performance.now();
  const report = await scoreFiles(spec, solution, submission);
  const seconds = (performance.now() - start) / 1000;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ score: report.score, public: report.public, private: report.private, seconds, max_rss_mb: maxRssMb })}\n`,
  );
}

function pythonScript(): string {
  const candidates = [
    new URL('./score_reference.py', import.meta.url),
    new URL('../../bench/score_reference.py', import.meta.url),
  ].map((u) => fileURLToPath(u));
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`score_reference.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === '--child') return scoreInThisProcess(rest[0]!, rest[1]!, rest[2]!);
  const self = fileURLToPath(import.meta.url);
  const python = process.env.PYTHON ?? 'python3';
  console.log(`scoring ${ROWS.toLocaleString('en')} rows (files in ${DATA_DIR}); simkit vs Python/numpy reference`);
  console.log('metric  scorer           seconds  max RSS MB  score');
  let agree = true;
  for (const testCase of CASES) {
    const { solution, submission } = await files(testCase);
    const ours = runChild(process.execPath, [
      ...process.execArgv,
      self,
      '--child',
      testCase.competition,
      solution,
      submission,
    ]);
    const reference = runChild(python, [pythonScript(), testCase.metric, solution, submission]);
    const same = (['score', 'public', 'private'] as const).every(
      (key) => Math.abs((ours[key] ?? NaN) - (reference[key] ?? NaN)) < 1e-9,
    );
    agree &&= same;
    for (const [label, m] of [
      ['simkit', ours],
      ['python/numpy', reference],
    ] as const) {
      console.log(
        `${testCase.metric.padEnd(6)}  ${label.padEnd(15)}  ${m.seconds.toFixed(2).padStart(7)}  ` +
          `${m.maxRssMb.toFixed(0).padStart(10)}  ${m.score} (public ${m.public}, private ${m.private})`,
      );
    }
    console.log(
      `${testCase.metric.padEnd(6)}  ratio simkit/ref  ${(ours.seconds / reference.seconds).toFixed(2).padStart(7)} ` +
        ` ${(ours.maxRssMb / reference.maxRssMb).toFixed(2).padStart(10)}  scores ${same ? 'agree' : 'DIFFER'}`,
    );
  }
  if (!agree) process.exitCode = 1;
}

await main();
