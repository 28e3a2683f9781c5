import type { Item } from '../contracts/competition.js';

/**
 * Validation items as the competition's unknown label sees them: a class absent from the training
 * split is "none of the known classes" to the model, as a new individual is in Kaggle's test set,
 * so its items count as the unknown label (`new_whale`). This gives the unknown label's threshold
 * something to learn from even when train.csv never names it. Items keep their other fields; an
 * item whose labels are all known is returned as it is.
 */
export function withImpliedUnknown(validation: readonly Item[], train: readonly Item[], unknownLabel: string): Item[] {
  const known = new Set(train.flatMap((item) => item.labels));
  return validation.map((item) => {
    if (item.labels.every((label) => known.has(label))) return item;
    const labels = [...new Set(item.labels.map((label) => (known.has(label) ? label : unknownLabel)))];
    return { ...item, labels };
  });
}
