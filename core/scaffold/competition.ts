import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CompetitionConfig } from '../contracts/competition.js';
import { UserError } from '../errors.js';
import { replaceDirectoryAtomic } from '../io/atomic-write.js';
import { IMAGE_CLASSIFICATION_CONFIG } from '../pipeline/defaults.js';

/** The metrics a scaffold can wire, with the submission shape each one scores. */
const METRICS = {
  'map@5': {
    tasks: ['classify'],
    column: 'labels',
    maxLabels: 5,
    withConfidence: false,
    module: 'average-precision',
    factory: "meanAveragePrecisionMetric({ name: 'MAP@5', k: 5, overflow: 'ignore', emptyTruth: 'invalid' })",
    symbol: 'meanAveragePrecisionMetric',
  },
  'macro-f1': {
    tasks: ['classify'],
    column: 'label',
    maxLabels: 1,
    withConfidence: false,
    module: 'macro-f1',
    factory: 'singleLabelMacroF1Metric()',
    symbol: 'singleLabelMacroF1Metric',
  },
  'top1-error': {
    tasks: ['classify'],
    column: 'label',
    maxLabels: 1,
    withConfidence: false,
    module: 'top1-error',
    factory: 'meanTop1ErrorMetric()',
    symbol: 'meanTop1ErrorMetric',
  },
  gap: {
    tasks: ['recognize'],
    column: 'prediction',
    maxLabels: 1,
    withConfidence: true,
    module: 'gap',
    factory: 'gapMetric()',
    symbol: 'gapMetric',
  },
  'mean-f1': {
    tasks: ['match'],
    column: 'matches',
    maxLabels: 50,
    withConfidence: false,
    module: 'f1',
    factory: 'meanF1Metric({ maxMatches: 50 })',
    symbol: 'meanF1Metric',
  },
  'map@100': {
    tasks: ['retrieve'],
    column: 'images',
    maxLabels: 100,
    withConfidence: false,
    module: 'average-precision',
    factory: "meanAveragePrecisionMetric({ name: 'mAP@100', k: 100, overflow: 'error', emptyTruth: 'ignore' })",
    symbol: 'meanAveragePrecisionMetric',
  },
} as const;

export type ScaffoldMetric = keyof typeof METRICS;
export const SCAFFOLD_TASKS = ['classify', 'recognize', 'match', 'retrieve'] as const;
const DEFAULT_METRIC: Record<ScaffoldTask, ScaffoldMetric> = {
  classify: 'map@5',
  recognize: 'gap',
  match: 'mean-f1',
  retrieve: 'map@100',
};

export interface ScaffoldOptions {
  /** The project root holding `competitions/`. */
  readonly root: string;
  readonly slug: string;
  readonly task?: string;
  readonly metric?: string;
  /** Kaggle's slug (the competition URL's last part) when it differs from `slug`, the short name. */
  readonly kaggleSlug?: string;
  /** The label of "none of the known classes" (classify only), e.g. new_whale; it may be implied by the data. */
  readonly unknownLabel?: string;
}

function camel(slug: string): string {
  return slug.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

type ScaffoldTask = (typeof SCAFFOLD_TASKS)[number];

/** What the adapter a scaffold writes differs in by task: its default config and whether it reads a searched set. */
const TASK_TEMPLATES: Readonly<Record<ScaffoldTask, { config: CompetitionConfig; searchedSet: boolean }>> = {
  classify: { config: IMAGE_CLASSIFICATION_CONFIG, searchedSet: false },
  recognize: { config: IMAGE_CLASSIFICATION_CONFIG, searchedSet: false },
  match: {
    config: {
      ...IMAGE_CLASSIFICATION_CONFIG,
      validation: { fraction: 0.3, by: 'label' },
      postProcessors: [{ name: 'min2', options: { threshold: 0.7, floor: 0.5 } }],
      tune: { 'min2.threshold': [0.5, 0.6, 0.7, 0.8, 0.9, 1.01] },
    },
    searchedSet: false,
  },
  retrieve: {
    config: {
      ...IMAGE_CLASSIFICATION_CONFIG,
      validation: { fraction: 0.3, by: 'label' },
      neighbours: 100,
      postProcessors: [{ name: 'query-expansion', options: { neighbours: 1, power: 3, minSimilarity: 0, k: 100 } }],
      tune: { 'query-expansion.neighbours': [0, 1, 2] },
    },
    searchedSet: true,
  },
};

/** The unknown label inserted where the voted scores drop below a tuned threshold. */
function withUnknownLabel(config: CompetitionConfig, label: string): CompetitionConfig {
  return {
    ...config,
    postProcessors: [...config.postProcessors, { name: 'unknown-label', options: { label, threshold: 0.3 } }],
    tune: { ...config.tune, 'unknown-label.threshold': [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6] },
  };
}

interface Names {
  /** The folder and the short name (`simkit run <alias>`, the registration's name). */
  readonly alias: string;
  /** Kaggle's slug: the leaderboard's key and the scoring spec's name. */
  readonly kaggleSlug: string;
  readonly unknownLabel?: string;
}

function adapterSource(names: Names, task: ScaffoldTask, metric: (typeof METRICS)[ScaffoldMetric]): string {
  const { alias: slug, kaggleSlug, unknownLabel } = names;
  const name = camel(slug);
  const { searchedSet } = TASK_TEMPLATES[task];
  const config = unknownLabel
    ? withUnknownLabel(TASK_TEMPLATES[task].config, unknownLabel)
    : TASK_TEMPLATES[task].config;
  const UNKNOWN = unknownLabel
    ? `\n    // Test items of no known class are ${unknownLabel}; so are validation items whose class the\n` +
      `    // training split lacks.\n    unknownLabel: ${JSON.stringify(unknownLabel)},`
    : '';
  const SAMPLE_UNKNOWN = unknownLabel ? `, ${JSON.stringify(unknownLabel)}` : '';
  const RETRIEVE_DOC = searchedSet ? ', and the searched set index.csv (id) with index_images/<id>.jpg' : '';
  const RETRIEVE_INDEX = searchedSet ? ", index: await readItems(dataDir, 'index.csv', 'index_images', false)" : '';
  return `import { join } from 'node:path';
import type {
  CompetitionAdapter,
  CompetitionConfig,
  Item,
  SubmissionFormat,
} from '../../core/contracts/competition.js';
import { dataPath, defineCompetition, readCsv, requireField } from '../../core/competition/adapter.js';
import { ${metric.symbol} } from '../../core/metrics/${metric.module}.js';
import { generateSimpleLayoutSample } from '../../core/samples/simple-layout.js';

/** Every default of the pipeline for ${slug}; a config file passed with --config overrides any key. */
export const CONFIG: CompetitionConfig = ${JSON.stringify(config, null, 2)};

/** Kaggle's submission columns; the scoring spec's header is derived from them. */
export const SUBMISSION: SubmissionFormat = {
  idColumn: 'id',
  labelColumn: '${metric.column}',
  maxLabels: ${metric.maxLabels},
  withConfidence: ${metric.withConfidence},
};

/**
 * Reads the simple layout: train.csv (id,label) with train_images/<id>.jpg, test.csv (id) with
 * test_images/<id>.jpg${RETRIEVE_DOC}. Adapt this to the competition's real files.
 */
async function readItems(dataDir: string, file: string, folder: string, labelled: boolean): Promise<Item[]> {
  const path = join(dataDir, file);
  return (await readCsv(path, labelled ? ['id', 'label'] : ['id'])).map(({ line, record }) => {
    const id = requireField(path, line, record, 'id');
    return {
      id,
      labels: labelled ? [requireField(path, line, record, 'label')] : [],
      imagePath: dataPath(dataDir, { file: path, line, field: 'id' }, folder, \`\${id}.jpg\`),
      extra: record,
    };
  });
}

export function ${name}(config: Partial<CompetitionConfig> = {}): CompetitionAdapter {
  return defineCompetition({
    // Kaggle's slug: results are recorded under it (keep it when renaming the folder or the alias).
    slug: '${kaggleSlug}',
    // The short name: \`simkit run ${slug}\`, \`make ${slug}\`; also the registration's name in di.config.ts.
    alias: '${slug}',
    title: '${kaggleSlug}',
    // The TOKENS.Metric registration that scores it: competitionModule registers one under the slug.
    metric: '${kaggleSlug}',
    // How it is scored (\`simkit score --competition ${slug}\`): swap in your own MetricDefinition.
    scoring: ${metric.factory},
    task: '${task}',
    modality: 'image',${UNKNOWN}
    config: { ...CONFIG, ...config },
    submission: SUBMISSION,
    readTrain: (dataDir) => readItems(dataDir, 'train.csv', 'train_images', true),
    readTest: async (dataDir) => ({ queries: await readItems(dataDir, 'test.csv', 'test_images', false)${RETRIEVE_INDEX} }),
    generateSample: (dir, seed) => generateSimpleLayoutSample(dir, seed, '${task}', [SUBMISSION.idColumn, SUBMISSION.labelColumn]${SAMPLE_UNKNOWN}),
  });
}
`;
}

function moduleSource({ alias: slug, kaggleSlug }: Names): string {
  const name = camel(slug);
  return `import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { CONFIG, ${name} } from './${slug}.js';

const competition: CompetitionRegistration = {
  name: '${slug}',
  description: '${slug} (scaffolded): simple CSV + image folder layout',
  defaults: CONFIG,
  // Every Kaggle slug this adapter serves, with the config options that select it (an edition's year, say).
  slugs: { '${kaggleSlug}': {} },
  create: (options?: Partial<CompetitionConfig>) => ${name}(options),
};

// Registers the adapter and its scoring spec (columns from the submission format, the adapter's metric).
export default competitionModule(competition);
`;
}

function testSource(slug: string): string {
  return `import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { runCompetition } from '../../../core/pipeline/run.js';
import { resolveScoringSpec } from '../../../core/scoring/registration.js';
import { validateSubmissionFile } from '../../../core/scoring/score.js';

describe('${slug}', () => {
  it('runs end to end on its generated sample', async () => {
    await initEngine('wasm');
    const app = await Simkit.create();
    const root = mkdtempSync(join(tmpdir(), '${slug}-'));
    const summary = await runCompetition(app, {
      competition: '${slug}',
      out: join(root, 'out'),
      leaderboard: join(root, 'lb.sqlite'),
      epochs: 1,
    });
    await validateSubmissionFile(resolveScoringSpec(app, '${slug}'), summary.submission);
    expect(summary.validation).toEqual(expect.any(Number));
    expect(summary.test?.score).toEqual(expect.any(Number));
  });
});
`;
}

/**
 * Lays generated TypeScript out the way the project's Prettier config says, so that a scaffolded
 * competition passes `make lint` as written. Prettier is a development dependency: where it is not
 * installed (simkit used from its npm package), the sources are written as generated.
 */
async function projectLayout(root: string): Promise<(source: string) => Promise<string>> {
  let prettier: typeof import('prettier');
  try {
    prettier = await import('prettier');
  } catch {
    return (source) => Promise.resolve(source);
  }
  const filepath = join(root, 'competitions', 'scaffold.ts');
  const options = await prettier.resolveConfig(filepath);
  return (source) => prettier.format(source, { ...options, filepath });
}

/**
 * Writes competitions/<slug>/ (adapter with its metric, DI module, test). Refuses an invalid or
 * existing slug and never overwrites: the folder is written under a temporary name and renamed.
 */
export async function scaffoldCompetition(options: ScaffoldOptions): Promise<string[]> {
  const { root, slug } = options;
  const kaggleSlug = options.kaggleSlug ?? slug;
  for (const [name, what] of [
    [slug, 'competition name'],
    [kaggleSlug, 'Kaggle slug'],
  ] as const) {
    if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) {
      throw new UserError(
        `"${name}" is not a valid ${what}`,
        'use kebab-case: lower-case letters and digits separated by single hyphens, starting with a letter',
      );
    }
  }
  const task = (options.task ?? 'classify') as ScaffoldTask;
  if (!(SCAFFOLD_TASKS as readonly string[]).includes(task)) {
    throw new UserError(
      `the scaffold does not support --task ${options.task}`,
      `choose one of: ${SCAFFOLD_TASKS.join(', ')}`,
    );
  }
  const metricName = (options.metric ?? DEFAULT_METRIC[task]) as ScaffoldMetric;
  const metric = METRICS[metricName];
  if (!metric)
    throw new UserError(`unknown metric "${options.metric}"`, `choose one of: ${Object.keys(METRICS).join(', ')}`);
  if (!(metric.tasks as readonly string[]).includes(task)) {
    throw new UserError(
      `metric ${metricName} does not score a ${task} task`,
      `for ${task} use: ${Object.entries(METRICS)
        .filter(([, m]) => (m.tasks as readonly string[]).includes(task))
        .map(([n]) => n)
        .join(', ')}`,
    );
  }
  const { unknownLabel } = options;
  if (unknownLabel !== undefined && (task !== 'classify' || !/^\S+$/.test(unknownLabel))) {
    throw new UserError(
      task !== 'classify'
        ? `--unknown-label needs --task classify (got ${task})`
        : `the unknown label ${JSON.stringify(unknownLabel)} must be one token without spaces`,
      'for example: --task classify --unknown-label new_whale',
    );
  }
  const names: Names = { alias: slug, kaggleSlug, unknownLabel };
  const target = join(root, 'competitions', slug);
  if (existsSync(target))
    throw new UserError(`competitions/${slug} already exists`, 'pick another name; nothing was changed');
  const files: Record<string, string> = {
    [`${slug}.ts`]: adapterSource(names, task, metric),
    'di.config.ts': moduleSource(names),
    [join('test', `${slug}.test.ts`)]: testSource(slug),
  };
  const layout = await projectLayout(root);
  await replaceDirectoryAtomic(target, async (temporary) => {
    await mkdir(join(temporary, 'test'), { recursive: true });
    for (const [file, content] of Object.entries(files)) await writeFile(join(temporary, file), await layout(content));
  });
  return Object.keys(files).map((file) => join('competitions', slug, file));
}
