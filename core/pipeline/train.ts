import { join } from 'node:path';
import type { Simkit } from '../di/container.js';
import { InputError } from '../errors.js';
import { writeReport } from '../report/render.js';
import { REPORT_DATA_FORMAT, writeReportData } from '../report/report-data.js';
import type { EpochRecord } from '../training/trainer.js';
import { loadConfigFile, type JsonObject } from './config.js';
import { SEED, describeRule, satisfies } from './config-check.js';
import { TEXT_MODEL_DIR, trainCompetitionModels, type EmbeddingModel } from './model.js';
import { writeRunConfig } from './run-config.js';
import { modelTrainingOptions, prepareRun, type RunOptions } from './run.js';

export interface TrainFile {
  readonly competition?: string;
  readonly data?: string;
  readonly out?: string;
  readonly seed?: number;
  /** The rest: overrides of the competition's config (backbone, loss, epochs, training, …). */
  readonly overrides: JsonObject;
}

/** Reads a train config (JSON or YAML): `competition`, `data`, `out`, `seed`, and config overrides. */
export async function readTrainFile(path: string): Promise<TrainFile> {
  const { competition, data, out, seed, ...overrides } = await loadConfigFile(path);
  for (const [key, value, type] of [
    ['competition', competition, 'string'],
    ['data', data, 'string'],
    ['out', out, 'string'],
    ['seed', seed, 'number'],
  ] as const) {
    if (value !== undefined && typeof value !== type)
      throw new InputError(path, undefined, key, `expected a ${type}, got ${JSON.stringify(value)}`);
  }
  if (seed !== undefined && !satisfies(seed, SEED))
    throw new InputError(path, undefined, 'seed', `expected ${describeRule(SEED)}, got ${JSON.stringify(seed)}`);
  return {
    competition: competition as string | undefined,
    data: data as string | undefined,
    out: out as string | undefined,
    seed: seed,
    overrides,
  };
}

/** How one of the run's models trained. */
export interface TrainedModelSummary {
  /** `image` or `text`. */
  readonly kind: string;
  readonly history: readonly EpochRecord[];
  /** Epoch whose weights were saved (the best one under early stopping). */
  readonly epoch: number;
  readonly stoppedEarly: boolean;
  readonly resumedFrom: number | null;
  readonly model: string;
  readonly checkpoints: string;
}

export interface TrainSummary {
  readonly competition: string;
  /** The image model first, then the text model where the competition has one. */
  readonly models: readonly TrainedModelSummary[];
  readonly report: string;
  readonly seconds: number;
}

function modelSummary(kind: string, model: EmbeddingModel, dir: string): TrainedModelSummary {
  const { history, epoch, stoppedEarly, resumedFrom } = model.training;
  return {
    kind,
    history,
    epoch,
    stoppedEarly,
    resumedFrom,
    model: join(dir, 'model'),
    checkpoints: join(dir, 'checkpoints'),
  };
}

/**
 * Trains a competition's embedding models and stops there: split, train with validation, per-epoch
 * checkpoints (resumable), the saved models, the effective config and an HTML report of the curves.
 */
export async function trainOnly(app: Simkit, options: RunOptions): Promise<TrainSummary> {
  const started = Date.now();
  const run = await prepareRun(app, options);
  const { competition, config, seed, out, runDir, train, validation } = run;
  const trained = await trainCompetitionModels(
    app,
    competition,
    config,
    train,
    validation,
    modelTrainingOptions(run, options),
  );
  trained.dispose();
  const models = [
    modelSummary('image', trained.image, runDir),
    ...(trained.text ? [modelSummary('text', trained.text, join(runDir, TEXT_MODEL_DIR))] : []),
  ];
  const seconds = (Date.now() - started) / 1000;
  await writeRunConfig(out, { competition: competition.alias, seed, ...config });
  const summary: Record<string, string | number> = {};
  for (const model of models) {
    const prefix = models.length > 1 ? `${model.kind} model: ` : '';
    Object.assign(summary, {
      [`${prefix}epochs`]: model.history.length,
      [`${prefix}kept epoch`]: model.epoch,
      [`${prefix}stopped early`]: model.stoppedEarly ? 'yes' : 'no',
    });
    for (const [name, value] of Object.entries(model.history.at(-1)?.validation ?? {}))
      summary[`${prefix}${name}`] = value;
  }
  await writeReportData(runDir, {
    format: REPORT_DATA_FORMAT,
    competition: competition.slug,
    title: `${competition.title}: training`,
    createdAt: new Date().toISOString(),
    summary: { ...summary, seconds: Math.round(seconds) },
  });
  const report = (await writeReport(runDir)).path;
  return { competition: competition.slug, models, report, seconds };
}
