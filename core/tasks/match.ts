import type { ComponentChoice, Item } from '../contracts/competition.js';
import type { ModelName } from '../contracts/postprocessor.js';
import type { Baseline, ChainStep, TaskStrategy } from '../contracts/task.js';
import { neighbourIds, sameLabel, submissionCell } from './cells.js';

function groupBy(items: readonly Item[], key: (item: Item) => string | undefined): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const item of items) {
    const value = key(item);
    if (value === undefined) continue;
    const ids = groups.get(value) ?? [];
    ids.push(item.id);
    groups.set(value, ids);
  }
  return groups;
}

const without = (chain: readonly ChainStep[], model: ModelName): ComponentChoice[] =>
  chain.filter((step) => !step.models.includes(model)).map((step) => step.choice);

/**
 * What the trained models add: the chain without the post-processors that read a model, tuned
 * like the full pipeline. Without the search model its neighbours go too; what is left of the
 * chain (match sources such as phash, TF-IDF, another model's neighbours) starts from empty rows.
 */
function modelBaselines(chain: readonly ChainStep[], searchModel: ModelName): Baseline[] {
  const baselines: Baseline[] = [];
  const read = [...new Set(chain.flatMap((step) => step.models))];
  const untrained = chain.filter((step) => step.models.length === 0).map((step) => step.choice);
  if (untrained.length > 0)
    baselines.push({ name: 'without trained models', chain: untrained, withoutSearchNeighbours: true });
  if (read.length > 1) {
    for (const model of read)
      baselines.push({
        name: `without the ${model} model`,
        chain: without(chain, model),
        withoutSearchNeighbours: model === searchModel,
      });
  }
  return baselines;
}

/**
 * Each item's prediction is the items of the same set that show the same thing, itself first
 * (Shopee). Validation matches the validation items among themselves, as the test set is matched;
 * the truth of an item is every item sharing its label.
 */
export const matchTask: TaskStrategy = {
  kind: 'match',
  excludeSelf: false,
  validationSets: (_train, validation) => ({ queries: validation, gallery: validation, truth: validation }),
  testGallery: (test) => test.queries,
  predictions: (state) => neighbourIds(state, { self: true }),
  baselines: ({ queries }, chain, searchModel) => {
    const baselines: Baseline[] = [
      { name: 'self only', predictions: queries.map((item) => ({ id: item.id, labels: [item.id] })) },
    ];
    if (queries.some((item) => item.phash !== undefined)) {
      const byHash = groupBy(queries, (item) => item.phash);
      baselines.push({
        name: 'phash only',
        predictions: queries.map((item) => ({
          id: item.id,
          labels: item.phash === undefined ? [item.id] : byHash.get(item.phash)!,
        })),
      });
    }
    return [...baselines, ...modelBaselines(chain, searchModel)];
  },
  submissionCell,
  solutionCell: (item, { truth }) => ({
    cell: truth
      .filter((other) => sameLabel(item, other))
      .map((other) => other.id)
      .join(' '),
  }),
};
