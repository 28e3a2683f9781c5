/**
 * `make ablation COMPETITION=shopee[,hotels,…]`: the winners' techniques one at a time over a competition's defaults
 * on its embedded sample (seed 42). Each row is one `nice -n 10 simkit run <competition> --seed 42 --config <overlay>`
 * child process; the overlay (written to `<out>/<competition>/<row>.json`) switches one technique on over the effective
 * config that `simkit run --print-config` shows. Prints one markdown table per competition: the held-out validation
 * metric (and, under `--folds`, the out-of-fold score over every train item), the sample test metric where the sample
 * has hidden truth, the pipeline's time with the load average, the technique's cost and the config. A technique that
 * does not apply to the competition is listed with the reason. `--rows a,b+c` runs only those rows (`b+c`: both
 * techniques at once).
 *
 *   node dist/bench/ablation.js --competition shopee[,hotels] [--rows defaults,tta-flip,…] [--seed 42] [--out DIR]
 */
import { spawn, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompetitionConfig, ImageModelConfig, ModelConfig } from '../core/contracts/competition.js';
import { UserError } from '../core/errors.js';
import { writeFileAtomic } from '../core/io/atomic-write.js';
import { argument, machineLine, runBenchmark } from './harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SIMKIT = join(ROOT, 'bin', 'simkit.js');
const FOLDS = 5;

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };
type JsonObject = { readonly [key: string]: Json };

/** A row's config overlay, extra `simkit run` flags and what it sets, in words for the table. */
export interface Overlay {
  readonly config: JsonObject;
  readonly flags: readonly string[];
  readonly summary: string;
}

export interface Technique {
  readonly name: string;
  /** What a row of this technique does, in the table's first column. */
  readonly label: string;
  /** What it costs over the defaults, counted in models and forward passes (times on a shared machine say little). */
  readonly cost: string;
  /** The overlay over `config`, or why the technique does not apply to it. */
  readonly plan: (config: CompetitionConfig) => Overlay | { readonly notApplicable: string };
}

function imageModels(config: CompetitionConfig): [string, ImageModelConfig][] {
  return Object.entries(config.models).filter(
    (entry): entry is [string, ImageModelConfig] => entry[1].input === 'image',
  );
}

/**
 * Whether the model's backbone takes any image size: a pooled map does, a flattened one (the pretrained default's
 * `pooling: flatten`, plain-cnn, mlp) does not.
 */
export function takesAnySize(model: ModelConfig): boolean {
  const pooling = (model.backbone.options as { pooling?: unknown } | undefined)?.pooling;
  return typeof pooling === 'string' && pooling !== 'flatten';
}

/** The second image model's side: three quarters of a side of 48 px or more (a multiple of 8), else 8 px more. */
export function secondImageSize(size: number): number {
  return size >= 48 ? Math.round((size * 0.75) / 8) * 8 : size + 8;
}

function ensembleOf(names: readonly string[], tuned: readonly string[]): JsonObject {
  return {
    search: 'ensemble',
    ensemble: { models: Object.fromEntries(names.map((name) => [name, 1])), pca: null },
    tune: Object.fromEntries(tuned.map((name) => [`ensemble.${name}`, [1, 0.5]])),
  };
}

const noImageModel = { notApplicable: 'the competition has no image model' };

export const TECHNIQUES: readonly Technique[] = [
  {
    name: 'defaults',
    label: 'none: the defaults',
    cost: 'the defaults',
    plan: () => ({ config: {}, flags: [], summary: '`{}`' }),
  },
  {
    name: 'ensemble',
    label: "ensemble of the competition's models",
    cost: 'the validation searched once per weight',
    plan: (config) => {
      const names = Object.keys(config.models);
      if (names.length < 2) return { notApplicable: 'one model only (see the second image model)' };
      return {
        config: ensembleOf(names, names.slice(1)),
        flags: [],
        summary: `\`search: ensemble\` of ${names.join(' + ')}, weights of ${names.slice(1).join(', ')} tuned over 1, 0.5`,
      };
    },
  },
  {
    name: 'second-image',
    label: 'ensemble with a second image model',
    cost: 'one more image model trained and embedded',
    plan: (config) => {
      const [name, model] = imageModels(config)[0] ?? [];
      if (!name || !model) return noImageModel;
      const size = secondImageSize(model.imageSize);
      const second = `${name}${size}`;
      const names = [...Object.keys(config.models), second];
      return {
        config: {
          models: { [second]: { ...model, imageSize: size } as unknown as Json },
          ...ensembleOf(names, [second]),
        },
        flags: [],
        summary:
          `\`models.${second}\`: ${name}'s config at ${size} px; \`search: ensemble\` of ${names.join(' + ')}, ` +
          `${second}'s weight tuned over 1, 0.5`,
      };
    },
  },
  {
    name: 'tta-flip',
    label: 'TTA: flip',
    cost: 'two forward passes per image',
    plan: (config) => {
      const names = imageModels(config).map(([name]) => name);
      if (names.length === 0) return noImageModel;
      return {
        config: { models: Object.fromEntries(names.map((name) => [name, { tta: { flip: true } }])) },
        flags: [],
        summary: names.map((name) => `\`models.${name}.tta.flip: true\``).join(', '),
      };
    },
  },
  {
    name: 'progressive',
    label: 'progressive sizes',
    cost: 'the first third of the epochs at 56 % of the pixels',
    plan: (config) => {
      const models = imageModels(config);
      if (models.length === 0) return noImageModel;
      const sized = models.filter(([, model]) => takesAnySize(model));
      if (sized.length === 0)
        return {
          notApplicable: `the image model's backbone (${models[0]![1].backbone.name}) needs a fixed image size`,
        };
      const steps = sized.map(([name, model]) => {
        const step = { until: Math.max(1, Math.floor(model.epochs / 3)), size: Math.round(model.imageSize * 0.75) };
        return [name, step] as const;
      });
      return {
        config: { models: Object.fromEntries(steps.map(([name, step]) => [name, { progressiveSizes: [step] }])) },
        flags: [],
        summary: steps
          .map(([name, step]) => `\`models.${name}.progressiveSizes: [{ until: ${step.until}, size: ${step.size} }]\``)
          .join(', '),
      };
    },
  },
  {
    name: 'folds',
    label: `k-fold: \`--folds ${FOLDS}\`, \`final: folds\``,
    cost: `${FOLDS} models per model, the chain tuned out of fold`,
    plan: () => ({ config: {}, flags: ['--folds', String(FOLDS)], summary: `\`--folds ${FOLDS}\`` }),
  },
  {
    name: 'pseudo-labels',
    label: 'pseudo-labels',
    cost: 'a second training round with the confident test clusters',
    plan: () => ({
      config: { pseudoLabels: { enabled: true } },
      flags: [],
      summary: '`pseudoLabels: { enabled: true }`',
    }),
  },
  {
    name: 'rerank',
    label: 'rerank: a pair model re-scores the top 10',
    cost: 'a pair model trained; 10 pairs scored per query',
    plan: (config) => ({
      config: {
        postProcessors: [{ name: 'rerank', options: {} }, ...config.postProcessors] as unknown as Json,
        tune: { 'rerank.weight': [1, 0.5] },
      },
      flags: [],
      summary: '`rerank` (siamese-concat, top 10) first in the chain, `tune: { rerank.weight: [1, 0.5] }`',
    }),
  },
];

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `b` over `a`: objects merge key by key, anything else is replaced (as `--config` merges). */
export function mergeOverlays(a: JsonObject, b: JsonObject): JsonObject {
  const merged: Record<string, Json> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const current = merged[key];
    merged[key] = isObject(current) && isObject(value) ? mergeOverlays(current, value) : value;
  }
  return merged;
}

export interface PlannedRow {
  readonly name: string;
  readonly label: string;
  readonly cost: string;
  readonly overlay?: Overlay;
  readonly notApplicable?: string;
}

/** A row: one technique's name, or several joined by `+` (their overlays merged in order, their flags added up). */
export function planRow(row: string, config: CompetitionConfig): PlannedRow {
  const techniques = row.split('+').map((name) => {
    const technique = TECHNIQUES.find((candidate) => candidate.name === name);
    if (!technique)
      throw new UserError(
        `unknown technique "${name}" in --rows`,
        `the techniques: ${TECHNIQUES.map((known) => known.name).join(', ')}`,
      );
    return technique;
  });
  const plans = techniques.map((technique) => technique.plan(config));
  const label = techniques.map((technique) => technique.label).join(' + ');
  const cost = techniques.map((technique) => technique.cost).join('; ');
  const refused = plans.find((plan): plan is { notApplicable: string } => 'notApplicable' in plan);
  if (refused) return { name: row, label, cost, notApplicable: refused.notApplicable };
  const overlays = plans as Overlay[];
  return {
    name: row,
    label,
    cost,
    overlay: {
      config: overlays.reduce((merged, overlay) => mergeOverlays(merged, overlay.config), {} as JsonObject),
      flags: overlays.flatMap((overlay) => overlay.flags),
      summary: overlays.map((overlay) => overlay.summary).join('; '),
    },
  };
}

/** What a run's summary (core/cli/commands/run.ts formatSummary) says: the metric and the scores the table shows. */
export interface RunResult {
  readonly metric: string;
  readonly validation: number | null;
  readonly outOfFold: { readonly score: number | null; readonly items: number; readonly folds: string } | null;
  readonly test: number | null;
  readonly tuned: string;
  readonly seconds: number;
}

function scoreAfter(summary: string, label: RegExp): number | null {
  const value = label.exec(summary)?.[1];
  return value === undefined || value === '—' ? null : Number(value);
}

export function parseSummary(summary: string): RunResult {
  const header = /^[^\s:][^:]*: (.+) \((?:higher|lower) is better\)$/m.exec(summary);
  const time = /^ {2}time ([\d.]+) s$/m.exec(summary);
  if (!header || !time) throw new UserError(`not a simkit run summary:\n${summary.slice(-2000)}`);
  const outOfFold = /^ {2}out of fold, all (\d+) train items \(\d+ folds\)\s+([\d.]+|—)\s+folds ([\d. —]+)$/m.exec(
    summary,
  );
  return {
    metric: header[1]!,
    validation: scoreAfter(summary, /^ {2}validation \(trained \+ tuned\)\s+([\d.]+|—)$/m),
    outOfFold: outOfFold
      ? {
          items: Number(outOfFold[1]),
          score: outOfFold[2] === '—' ? null : Number(outOfFold[2]),
          folds: outOfFold[3]!.trim(),
        }
      : null,
    test: scoreAfter(summary, /^ {2}sample test set \(hidden truth\)\s+([\d.]+|—)/m),
    tuned: /^ {2}tuned: (.*)$/m.exec(summary)?.[1] ?? '',
    seconds: Number(time[1]),
  };
}

export interface MeasuredRow extends PlannedRow {
  readonly result?: RunResult;
  /** The load average (1 min) when the row ended. */
  readonly load?: number;
  /** Why the run stopped, where `simkit run` refused the row or failed. */
  readonly failure?: string;
}

const score = (value: number | null | undefined) => (value === null || value === undefined ? '—' : value.toFixed(4));

/** The markdown table of one competition's rows. */
export function formatTable(rows: readonly MeasuredRow[]): string {
  const lines = [
    '| technique | validation | sample test | time (s, load) | cost | config |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    if (row.notApplicable) {
      lines.push(`| ${row.label} | not applicable: ${row.notApplicable} | | | | |`);
      continue;
    }
    const config = row.overlay!.summary;
    if (!row.result) {
      lines.push(`| ${row.label} | ${row.failure ?? 'not run'} | | | ${row.cost} | ${config} |`);
      continue;
    }
    const { result } = row;
    const outOfFold = result.outOfFold
      ? `; out of fold, all ${result.outOfFold.items} train items: **${score(result.outOfFold.score)}** ` +
        `(folds ${result.outOfFold.folds})`
      : '';
    const tuned = result.tuned ? ` (tuned ${result.tuned})` : '';
    lines.push(
      `| ${row.label} | ${score(result.validation)}${outOfFold} | ${score(result.test)} | ` +
        `${result.seconds.toFixed(1)} (${row.load?.toFixed(1) ?? '?'}) | ${row.cost} | ${config}${tuned} |`,
    );
  }
  return lines.join('\n');
}

/** The effective config of `competition` (`simkit run --print-config`). */
function effectiveConfig(competition: string, seed: string): CompetitionConfig {
  const printed = spawnSync(process.execPath, [SIMKIT, 'run', competition, '--seed', seed, '--print-config'], {
    encoding: 'utf8',
  });
  if (printed.status !== 0)
    throw new UserError(`simkit run ${competition} --print-config failed: ${printed.stderr.trim()}`);
  return JSON.parse(printed.stdout) as CompetitionConfig;
}

/** `nice -n 10 simkit run` of one row; its progress goes to `<dir>/<row>.log`. */
async function measure(competition: string, seed: string, row: PlannedRow, dir: string): Promise<MeasuredRow> {
  const configFile = join(dir, `${row.name}.json`);
  await writeFileAtomic(configFile, `${JSON.stringify(row.overlay!.config, null, 1)}\n`);
  const args = [SIMKIT, 'run', competition, '--seed', seed, '--out', join(dir, row.name), '--config', configFile];
  args.push(...row.overlay!.flags);
  process.stdout.write(
    `$ nice -n 10 node ${args.map((a) => (a.startsWith(ROOT) ? a.slice(ROOT.length + 1) : a)).join(' ')}\n`,
  );
  const child = spawn('nice', ['-n', '10', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  await writeFileAtomic(join(dir, `${row.name}.log`), `${stderr}${stdout}`);
  const load = loadavg()[0]!;
  if (code !== 0) {
    const lines = stderr.trim().split('\n');
    const refusal = lines.find((line) => line.startsWith('simkit: '));
    // simkit refuses a config or an input with its own message and exit 1 or 2; anything else is a failure.
    const outcome = refusal && (code === 1 || code === 2) ? 'refused' : 'failed';
    const reason = (refusal ?? lines.at(-1) ?? '').replaceAll('|', '\\|');
    return { ...row, load, failure: `${outcome} (exit ${code}): ${reason}` };
  }
  return { ...row, load, result: parseSummary(stdout) };
}

async function main(): Promise<void> {
  const competitions = (argument('competition') ?? 'shopee').split(',').map((name) => name.trim());
  const seed = argument('seed') ?? '42';
  const out = resolve(argument('out') ?? join(ROOT, 'output', 'ablation'));
  const wanted = argument('rows')
    ?.split(',')
    .map((name) => name.trim());
  process.stdout.write(`${machineLine()}\n`);
  for (const competition of competitions) {
    const config = effectiveConfig(competition, seed);
    const dir = join(out, competition);
    const rows: MeasuredRow[] = [];
    const table = () =>
      `### ${competition}\n\n\`make ablation COMPETITION=${competition}\` (seed ${seed}; ${machineLine()})\n\n` +
      `${formatTable(rows)}\n`;
    for (const name of wanted ?? TECHNIQUES.map((technique) => technique.name)) {
      const row = planRow(name, config);
      rows.push(row.notApplicable ? row : await measure(competition, seed, row, dir));
      // Kept up to date row by row, so that a long series stopped halfway keeps what it measured.
      await writeFileAtomic(join(dir, 'ablation.md'), table());
    }
    process.stdout.write(`\n${table()}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runBenchmark(main);
