import type { Prediction, TaskKind } from '../contracts/competition.js';
import type { KnnState } from '../contracts/postprocessor.js';
import { UserError } from '../errors.js';

/**
 * Turns the final kNN state into one prediction per query. `match` and `retrieve` answer with
 * gallery ids (for `match` the query itself first: every item matches itself); the other tasks
 * answer with the ranked labels a label post-processor (e.g. kNN voting) produced.
 */
export function predictionsOf(task: TaskKind, state: KnnState): Prediction[] {
  return state.queryIds.map((id, q) => {
    if (task === 'match' || task === 'retrieve') {
      const row = state.neighbours[q]!;
      const labels: string[] = [];
      const scores: number[] = [];
      const seen = new Set<string>();
      if (task === 'match') {
        labels.push(id);
        scores.push(1);
        seen.add(id);
      }
      row.indices.forEach((galleryIndex, rank) => {
        const galleryId = state.galleryIds[galleryIndex]!;
        if (seen.has(galleryId)) return;
        seen.add(galleryId);
        labels.push(galleryId);
        scores.push(row.similarities[rank]!);
      });
      return { id, labels, scores };
    }
    const ranked = state.predictions?.[q];
    if (!ranked) {
      throw new UserError(
        `the ${task} task needs label predictions, but no post-processor produced them`,
        'add a label post-processor such as knn-vote to postProcessors in the config',
      );
    }
    return { id, labels: [...ranked.labels], scores: [...ranked.scores] };
  });
}
