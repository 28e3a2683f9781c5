import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Simkit } from '../di/container.js';
import { InputError } from '../errors.js';
import { writeReport } from '../report/render.js';
import { REPORT_DATA_FORMAT, writeReportData } from '../report/report-data.js';
import type { EpochRecord } from '../training/trainer.js';
import { loadConfigFile, type JsonObject } from './config.js';
import { trainEmbeddingModel } from './model.js';
import { prepareRun, type RunOptions } from './run.js';

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
  for (const [key, value, type] of [['competition', competition, 'string'], ['data', data, 'string'], ['out', out, 'string'], ['seed', seed, 'number']] as const) {
    if (value !== undefined && typeof value !== type) throw new InputError(path, undefined, key, `expected a ${type}, got ${JSON.stringify(value)}`);
  }
  return { competition: competition as string | undefined, data: data as string | undefined, out: out as string | undefined, seed: seed as number | undefined, overrides };
}

export interface TrainSummary {
  readonly competition: string;
  readonly history: readonly EpochRecord[];
  /** Epoch whose weights were saved (the best one under early stopping). */
  readonly epoch: number;
  readonly stoppedEarly: boolean;
  readonly resumedFrom: number | null;
  readonly model: string;
  readonly checkpoints: string;
  readonly report: string;
  readonly seconds: number;
}

/**
 * Trains a competition's embedding model and stops there: split, train with validation, per-epoch
 * checkpoints (resumable), the saved model, the effective config and an HTML report of the curves.
 */
export async function trainOnly(app: Simkit, options: RunOptions): Promise<TrainSummary> {
  const started = Date.now();
  const { competition, config, seed, out, runDir, train, validation } = await prepareRun(app, options);
  const model = await trainEmbeddingModel(app, competition, config, train, validation, { runDir, seed, resume: options.resume });
  model.dispose();
  const seconds = (Date.now() - started) / 1000;
  const history = model.training.history;
  const last = history.at(-1)?.validation ?? {};
  await writeFile(join(out, 'config.json'), `${JSON.stringify({ competition: competition.alias, seed, ...config }, null, 2)}\n`);
  await writeReportData(runDir, {
    format: REPORT_DATA_FORMAT,
    competition: competition.slug,
    title: `${competition.title}: training`,
    createdAt: new Date().toISOString(),
    summary: { epochs: history.length, 'kept epoch': model.training.epoch, 'stopped early': model.training.stoppedEarly ? 'yes' : 'no', ...last, seconds: Math.round(seconds) },
  });
  const report = (await writeReport(runDir)).path;
  return {
    competition: competition.slug,
    history,
    epoch: model.training.epoch,
    stoppedEarly: model.training.stoppedEarly,
    resumedFrom: model.training.resumedFrom,
    model: join(runDir, 'model'),
    checkpoints: join(runDir, 'checkpoints'),
    report,
    seconds,
  };
}
