import type { Item } from '../contracts/competition.js';
import type { Random } from '../random.js';

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

/**
 * The split of a competition with an unknown label. Items labelled with it are no class to learn;
 * they join validation. A `fraction` of the classes with a single item join validation too (a
 * split by item keeps one item of every class in training, so they would never be absent from it):
 * like the new individuals of Kaggle's test set, their class is unknown to the model, and
 * withImpliedUnknown labels them so.
 */
export function unknownLabelSplit(
  split: { readonly train: readonly Item[]; readonly validation: readonly Item[] },
  unknownLabel: string,
  fraction: number,
  random: Random,
): { train: Item[]; validation: Item[] } {
  const isUnknown = (item: Item) => item.labels.includes(unknownLabel);
  const counts = new Map<string, number>();
  for (const item of [...split.train, ...split.validation])
    if (!isUnknown(item)) for (const label of item.labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  const train: Item[] = [];
  const heldOut: Item[] = [];
  for (const item of split.train) {
    const single = !isUnknown(item) && item.labels.every((label) => counts.get(label) === 1);
    if (isUnknown(item) || (single && random.next() < fraction)) heldOut.push(item);
    else train.push(item);
  }
  return { train, validation: withImpliedUnknown([...split.validation, ...heldOut], train, unknownLabel) };
}
