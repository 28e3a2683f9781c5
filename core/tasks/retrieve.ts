import type { Item } from '../contracts/competition.js';
import type { TaskStrategy } from '../contracts/task.js';
import { neighbourIds, sameLabel, submissionCell } from './cells.js';

/**
 * Ranked ids of an index set (landmark retrieval). Validation takes one query per class and
 * searches the other validation items; a query's truth is every index item sharing its label, and
 * a query with none is Ignored, as Kaggle ignores it.
 */
export const retrieveTask: TaskStrategy = {
  kind: 'retrieve',
  excludeSelf: true,
  validationSets: (_train, validation) => {
    const seen = new Set<string>();
    const queries: Item[] = [];
    const index: Item[] = [];
    for (const item of validation) {
      const label = item.labels[0] ?? '';
      if (seen.has(label)) index.push(item);
      else {
        seen.add(label);
        queries.push(item);
      }
    }
    return { queries, gallery: index, truth: queries, index };
  },
  testGallery: (test) => test.index ?? [],
  predictions: (state) => neighbourIds(state, { self: false }),
  baselines: ({ queries, gallery }) => {
    const ranked = gallery.map((item) => item.id);
    return [
      {
        name: 'index order',
        predictions: queries.map((item) => ({ id: item.id, labels: ranked, scores: ranked.map(() => 1) })),
      },
    ];
  },
  submissionCell,
  solutionCell: (item, { index = [] }) => {
    const relevant = index.filter((other) => sameLabel(item, other)).map((other) => other.id);
    return relevant.length === 0 ? { cell: '', usage: 'Ignored' } : { cell: relevant.join(' ') };
  },
};
