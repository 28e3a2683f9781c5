import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCsvAtomic } from '../data/csv.js';
import type { Item } from '../contracts/competition.js';
import type { KnnState } from '../contracts/postprocessor.js';
import { log } from '../log.js';
import type { RunOptions, ScoredRunContext } from './context.js';
import { embedderOf, type Embedder } from './embed.js';
import { testState } from './predict.js';
import { trainModels, type TrainedModels } from './train-models.js';
import { validate, type Distractors, type ValidationOutcome } from './validate.js';

/** The test items that joined the training set and their classes, in `run/pseudo-labels/`. */
export const PSEUDO_LABELS_FILE = 'pseudo-labels.csv';

/** The prefix of the classes made of test clusters. */
export const PSEUDO_LABEL_PREFIX = 'pseudo-';

/** What the pseudo-labels round did, and the validation before it (the same held-out items, untouched). */
export interface PseudoLabelRound {
  /** The similarity above which test pairs were trusted; null when no setting reached the precision. */
  readonly confidence: number | null;
  /** Test items that joined the training set, and in how many classes. */
  readonly items: number;
  readonly classes: number;
  /** The first round's validation score (the run's `validation` is the second round's). */
  readonly firstValidation: number | null;
}

/**
 * The lowest similarity at which at least `precision` of the validation's neighbour pairs at or above it share a
 * label (the query itself left out), or null when none does. `truth[q]` holds query q's labels.
 */
export function tunedConfidence(
  state: KnnState,
  truth: readonly (readonly string[])[],
  precision: number,
): number | null {
  const pairs = state.neighbours.flatMap((row, q) =>
    row.indices.flatMap((g, r) =>
      state.galleryIds[g] === state.queryIds[q]
        ? []
        : [{ similarity: row.similarities[r]!, match: truth[q]!.join(' ') === state.galleryLabels?.[g] }],
    ),
  );
  pairs.sort((a, b) => b.similarity - a.similarity);
  let matches = 0;
  let confidence: number | null = null;
  pairs.forEach((pair, i) => {
    if (pair.match) matches++;
    const last = i === pairs.length - 1 || pairs[i + 1]!.similarity < pair.similarity;
    if (last && matches / (i + 1) >= precision) confidence = pair.similarity;
  });
  return confidence;
}

/**
 * Test items as training items: the clusters of test pairs at or above `confidence` (connected components). A cluster
 * with gallery items of one known label gives that label to its test items; a cluster of test items alone becomes a
 * new class; clusters of mixed labels, or of more than `maxClusterSize` items, are left out.
 */
export function pseudoLabelled(state: KnnState, confidence: number, maxClusterSize: number): Item[] {
  const parent = new Map<string, string>();
  const root = (id: string): string => {
    let at = id;
    while (parent.get(at) !== undefined && parent.get(at) !== at) at = parent.get(at)!;
    parent.set(id, at);
    return at;
  };
  state.neighbours.forEach((row, q) =>
    row.indices.forEach((g, r) => {
      if (row.similarities[r]! < confidence) return;
      const [a, b] = [root(state.queryIds[q]!), root(state.galleryIds[g]!)];
      if (a !== b) parent.set(a < b ? b : a, a < b ? a : b);
    }),
  );
  const labelOf = new Map<string, readonly string[]>();
  state.galleryItems?.forEach((item) => labelOf.set(item.id, item.labels));
  const clusters = new Map<string, string[]>();
  for (const id of parent.keys()) clusters.set(root(id), [...(clusters.get(root(id)) ?? []), id]);
  const queries = new Map(state.queryItems?.map((item) => [item.id, item]));
  const items: Item[] = [];
  let created = 0;
  for (const members of [...clusters.values()].sort((a, b) => (a[0]! < b[0]! ? -1 : 1))) {
    if (members.length < 2 || members.length > maxClusterSize) continue;
    const known = new Set(members.flatMap((id) => labelOf.get(id) ?? []));
    if (known.size > 1) continue;
    const label = known.size === 1 ? [...known][0]! : `${PSEUDO_LABEL_PREFIX}${++created}`;
    for (const id of members) {
      const item = queries.get(id);
      if (item && (labelOf.get(id)?.length ?? 0) === 0) items.push({ ...item, labels: [label] });
    }
  }
  return items;
}

/**
 * The pseudo-labels round (`pseudoLabels.enabled`): the first round's confident test clusters join the training items
 * as classes, the models train again (in `run/pseudo-labels/`), and the chain is tuned again on the same validation
 * items, which no pseudo-label touched.
 */
export async function pseudoLabelRound(
  run: ScoredRunContext,
  options: Pick<RunOptions, 'resume' | 'strict' | 'maxBadImages'>,
  first: { readonly embedder: Embedder; readonly outcome: ValidationOutcome },
  distractors: Distractors,
): Promise<{
  round: PseudoLabelRound;
  models: TrainedModels;
  embedder: Embedder;
  outcome: ValidationOutcome;
  runDir: string;
}> {
  const { precision, maxClusterSize } = run.config.pseudoLabels!;
  const confidence = tunedConfidence(first.outcome.state, first.outcome.truth, precision);
  const state = await testState(run, first.embedder);
  const pseudo = confidence === null ? [] : pseudoLabelled(state, confidence, maxClusterSize);
  const classes = new Set(pseudo.map((item) => item.labels[0])).size;
  log.info(
    confidence === null
      ? `pseudo-labels: no similarity reached a pair precision of ${precision} on validation; training again without`
      : `pseudo-labels: test pairs at similarity ≥ ${confidence.toFixed(4)} (pair precision ≥ ${precision} on validation): ` +
          `${pseudo.length} test items in ${classes} classes join the training set`,
  );
  const second = { ...run, train: [...run.train, ...pseudo], runDir: join(run.runDir, 'pseudo-labels') };
  await mkdir(second.runDir, { recursive: true });
  await writeCsvAtomic(
    join(second.runDir, PSEUDO_LABELS_FILE),
    ['id', 'label'],
    pseudo.map((item) => [item.id, item.labels[0]!]),
  );
  const models = await trainModels(run.app, second, options);
  try {
    const embedder = embedderOf(models, first.embedder.searchModel);
    const outcome = await validate({ ...run, runDir: second.runDir }, embedder, distractors);
    const firstValidation = first.outcome.tuning.best.score;
    log.info(
      `pseudo-labels: validation ${firstValidation?.toFixed(4) ?? '—'} → ${outcome.tuning.best.score?.toFixed(4) ?? '—'}`,
    );
    return {
      round: { confidence, items: pseudo.length, classes, firstValidation },
      models,
      embedder,
      outcome,
      runDir: second.runDir,
    };
  } catch (error) {
    models.dispose();
    throw error;
  }
}
