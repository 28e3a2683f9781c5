import { join } from 'node:path';
import type { Simkit } from '../di/container.js';
import { InputError } from '../errors.js';
import type { EpochRecord } from '../training/trainer.js';
import { writeTrainingReport, writeUsedConfig } from './artifacts.js';
import { loadConfigFile, type JsonObject } from './config.js';
import { SEED, describeRule, satisfies } from './config-check.js';
import type { RunOptions } from './context.js';
import { prepareRun } from './prepare.js';
import { modelDir, trainModels } from './train-models.js';

export interface TrainFile {
  readonly competition?: string;
  readonly data?: string;
  readonly out?: string;
  readonly seed?: number;
  /** The rest: overrides of the competition's config (models, validation, …). */
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
  /** The model's name in the config (`image`, `text`, …). */
  readonly name: string;
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
  /** Every model of the config, in its order. */
  readonly models: readonly TrainedModelSummary[];
  readonly report: string;
  readonly seconds: number;
}

/**
 * `simkit train`: the run's prepare and training stages, then the config and a report of the curves
 * (split, train with validation, per-epoch checkpoints (resumable), the saved models).
 */
export async function trainOnly(app: Simkit, options: RunOptions): Promise<TrainSummary> {
  const run = await prepareRun(app, options);
  const trained = await trainModels(app, run, options);
  trained.dispose();
  const models = [...trained.byName].map(([name, model]): TrainedModelSummary => {
    const dir = modelDir(run.runDir, name);
    const { history, epoch, stoppedEarly, resumedFrom } = model.training;
    return {
      name,
      history,
      epoch,
      stoppedEarly,
      resumedFrom,
      model: join(dir, 'model'),
      checkpoints: join(dir, 'checkpoints'),
    };
  });
  const seconds = (Date.now() - run.started) / 1000;
  await writeUsedConfig(run, run.config);
  const report = await writeTrainingReport(run, models, seconds);
  return { competition: run.competition.slug, models, report, seconds };
}
