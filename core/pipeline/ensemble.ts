import type { CompetitionConfig, EnsembleConfig, Item } from '../contracts/competition.js';
import { InputError, UserError } from '../errors.js';
import { log } from '../log.js';
import { pca } from '../report/pca.js';
import { cachedVectors, embedderOf, otherModelsOf, type Embedder, type VectorsOf } from './embed.js';
import type { Overrides } from './knn.js';
import type { TrainedModels } from './train-models.js';
import { tuneSettings } from './tune.js';

/** The `search` value, and the tune keys' prefix, of an ensemble. */
export const ENSEMBLE = 'ensemble';
const TUNE_PREFIX = `${ENSEMBLE}.`;

function isWeight(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Refuses an ensemble that cannot be built (or a `search: ensemble` without one), naming the key. */
export function checkEnsemble(config: CompetitionConfig, source: string): void {
  const { ensemble, search } = config;
  const tuned = Object.keys(config.tune ?? {}).filter((key) => key.startsWith(TUNE_PREFIX));
  const refuse = (key: string, message: string): never => {
    throw new InputError(source, undefined, key, message);
  };
  if (!ensemble) {
    if (search === ENSEMBLE) refuse('search', 'search: ensemble needs an ensemble: { models: { image: 1, text: 1 } }');
    if (tuned.length > 0) refuse(`tune.${tuned[0]}`, 'tunes an ensemble weight, but the config has no ensemble');
    return;
  }
  if (search !== ENSEMBLE)
    refuse('search', `the ensemble is searched only with search: ensemble, got ${JSON.stringify(search)}`);
  if (ENSEMBLE in config.models) refuse(`models.${ENSEMBLE}`, `a model may not be called "${ENSEMBLE}"`);
  const members = typeof ensemble.models === 'object' && ensemble.models !== null ? ensemble.models : {};
  const names = Object.keys(members);
  if (names.length === 0)
    refuse('ensemble.models', 'expected the models that take part and their weights: { image: 1, text: 1 }');
  for (const [name, weight] of Object.entries(members)) {
    if (!(name in config.models))
      refuse(`ensemble.models.${name}`, `expected one of the models (${Object.keys(config.models).join(', ')})`);
    if (!isWeight(weight)) refuse(`ensemble.models.${name}`, `expected a weight ≥ 0, got ${JSON.stringify(weight)}`);
  }
  if (!names.some((name) => members[name]! > 0)) refuse('ensemble.models', 'expected at least one weight above 0');
  const width = names.reduce((sum, name) => sum + config.models[name]!.embeddingSize, 0);
  const projection = ensemble.pca;
  if (projection !== null && projection !== undefined) {
    const { dimension, whiten } = projection;
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > width)
      refuse(
        'ensemble.pca.dimension',
        `expected a whole number from 1 to ${width} (the models' embedding sizes added), got ${JSON.stringify(dimension)}`,
      );
    if (typeof whiten !== 'boolean')
      refuse('ensemble.pca.whiten', `expected true or false, got ${JSON.stringify(whiten)}`);
  }
  for (const key of tuned) {
    const name = key.slice(TUNE_PREFIX.length);
    if (!(name in members)) refuse(`tune.${key}`, `names no model of the ensemble (${names.join(', ')})`);
    if (!config.tune[key]!.every(isWeight)) refuse(`tune.${key}`, 'expected weights ≥ 0');
  }
}

/** Each part's rows times its weight, side by side: `count` rows of the parts' dimensions added. */
export function concatenated(
  parts: readonly { readonly vectors: Float32Array; readonly dim: number; readonly weight: number }[],
  count: number,
): Float32Array {
  const width = parts.reduce((sum, part) => sum + part.dim, 0);
  const out = new Float32Array(count * width);
  let offset = 0;
  for (const { vectors, dim, weight } of parts) {
    for (let row = 0; row < count; row++)
      for (let j = 0; j < dim; j++) out[row * width + offset + j] = weight * vectors[row * dim + j]!;
    offset += dim;
  }
  return out;
}

/** Scales every row to unit length in place (a zero row stays zero). */
export function normalizeRows(rows: Float32Array, dim: number): Float32Array {
  for (let start = 0; start < rows.length; start += dim) {
    let sum = 0;
    for (let j = start; j < start + dim; j++) sum += rows[j]! * rows[j]!;
    const norm = Math.sqrt(sum);
    if (norm > 0) for (let j = start; j < start + dim; j++) rows[j]! /= norm;
  }
  return rows;
}

/** A fitted linear projection: row ↦ ((row − mean) · axis) × scale for each axis. */
export interface Projection {
  readonly mean: Float64Array;
  readonly axes: readonly Float64Array[];
  readonly scales: readonly number[];
}

/** PCA of `rows` (n × dim) to `dimension` axes, each scaled to unit variance with `whiten`. */
export function fitProjection(
  rows: Float32Array,
  dim: number,
  options: NonNullable<EnsembleConfig['pca']>,
): Projection {
  const count = rows.length / dim;
  if (options.dimension > count - 1)
    throw new UserError(
      `ensemble.pca.dimension ${options.dimension}: ${count} training items span at most ${Math.max(0, count - 1)} dimensions`,
      `set ensemble.pca.dimension to ${Math.max(1, count - 1)} or less`,
    );
  const data = Array.from({ length: count }, (_, row) => rows.subarray(row * dim, (row + 1) * dim));
  const fitted = pca(data, { components: options.dimension, maxIterations: 1000, tolerance: 1e-9 });
  if (fitted.components.length < options.dimension)
    throw new UserError(
      `ensemble.pca.dimension ${options.dimension}: the training items' vectors vary along only ${fitted.components.length} axes`,
      `set ensemble.pca.dimension to ${fitted.components.length} or less`,
    );
  return {
    mean: fitted.mean,
    axes: fitted.components,
    scales: fitted.variances.map((variance) => (options.whiten ? 1 / Math.sqrt(variance) : 1)),
  };
}

/** `rows` (n × dim) projected: n × axes rows. */
export function project(rows: Float32Array, dim: number, projection: Projection): Float32Array {
  const { mean, axes, scales } = projection;
  const count = rows.length / dim;
  const out = new Float32Array(count * axes.length);
  const centred = new Float64Array(dim);
  for (let row = 0; row < count; row++) {
    for (let j = 0; j < dim; j++) centred[j] = rows[row * dim + j]! - mean[j]!;
    axes.forEach((axis, a) => {
      let along = 0;
      for (let j = 0; j < dim; j++) along += centred[j]! * axis[j]!;
      out[row * axes.length + a] = along * scales[a]!;
    });
  }
  return out;
}

/** How an ensemble is described in the log and the report. */
function describe(weights: Readonly<Record<string, number>>, projection: EnsembleConfig['pca']): string {
  const members = Object.entries(weights)
    .map(([name, weight]) => `${name} ×${weight}`)
    .join(', ');
  const reduced = projection ? ` (${projection.whiten ? 'PCA-whitened' : 'PCA'} to ${projection.dimension})` : '';
  return `ensemble of ${members}${reduced}`;
}

/**
 * The embedder that searches the ensemble with these weights: each member's vectors times its weight, concatenated,
 * projected when the ensemble says so (fitted on the training items' vectors once), and L2-normalised.
 */
export function ensembleEmbedder(
  models: TrainedModels,
  ensemble: EnsembleConfig,
  weights: Readonly<Record<string, number>>,
  train: readonly Item[],
  vectorsOf: VectorsOf = cachedVectors(models),
): Embedder {
  const members = Object.keys(ensemble.models);
  const width = members.reduce((sum, name) => sum + models.byName.get(name)!.dim, 0);
  const weighted = async (items: readonly Item[]) =>
    concatenated(
      await Promise.all(
        members.map(async (name) => ({
          vectors: await vectorsOf(name, items),
          dim: models.byName.get(name)!.dim,
          weight: weights[name]!,
        })),
      ),
      items.length,
    );
  const reduction = ensemble.pca;
  let projection: Promise<Projection> | undefined;
  const searched = async (items: readonly Item[]): Promise<Float32Array> => {
    if (!reduction) return normalizeRows(await weighted(items), width);
    projection ??= weighted(train).then((rows) => fitProjection(rows, width, reduction));
    return normalizeRows(project(await weighted(items), width, await projection), reduction.dimension);
  };
  const cache = new Map<readonly Item[], Promise<Float32Array>>();
  return {
    searchModel: ENSEMBLE,
    dim: reduction ? reduction.dimension : width,
    description: describe(weights, reduction),
    tuned: Object.fromEntries(members.map((name) => [`${TUNE_PREFIX}${name}`, weights[name]!])),
    embed: async (items) => {
      let vectors = cache.get(items);
      if (!vectors) cache.set(items, (vectors = searched(items)));
      return { items, vectors: await vectors };
    },
    otherModels: otherModelsOf(models, vectorsOf, ENSEMBLE),
  };
}

/**
 * The embedder of the searched vectors: the search model's, or the ensemble's with its weights tuned on validation
 * (`tune: { ensemble.<model>: […] }`, each setting scored with the post-processing tuned for it), like the
 * post-processors' options.
 */
export async function searchedEmbedder(
  config: Pick<CompetitionConfig, 'models' | 'search' | 'ensemble' | 'tune'>,
  train: readonly Item[],
  models: TrainedModels,
  tuning: { readonly score: (embedder: Embedder) => Promise<number | null>; readonly higherIsBetter: boolean },
): Promise<Embedder> {
  const vectorsOf = cachedVectors(models);
  const { ensemble } = config;
  if (!ensemble) return embedderOf(models, config.search ?? Object.keys(config.models)[0]!, vectorsOf);
  const build = (overrides: Overrides) => {
    const weights = { ...ensemble.models };
    for (const [key, value] of Object.entries(overrides)) weights[key.slice(TUNE_PREFIX.length)] = value;
    return ensembleEmbedder(models, ensemble, weights, train, vectorsOf);
  };
  const grid = Object.fromEntries(Object.entries(config.tune).filter(([key]) => key.startsWith(TUNE_PREFIX)));
  if (Object.keys(grid).length === 0) return build({});
  const result = await tuneSettings(grid, (overrides) => tuning.score(build(overrides)), tuning.higherIsBetter);
  log.info(`ensemble weights tuned on validation: ${result.points.length} settings by ${result.strategy}`);
  for (const point of result.points)
    log.info(
      `  ${build(point.overrides).description.padEnd(48)} ${point.score === null ? '—' : point.score.toFixed(4)}`,
    );
  return build(result.best.overrides);
}
