import type { CompetitionConfig, Item } from '../contracts/competition.js';
import { UserError } from '../errors.js';
import type { Random } from '../random.js';

/** The items of each label set (one key per distinct `labels`), in the order met. */
function byLabelKey(items: readonly Item[]): Map<string, Item[]> {
  const byLabel = new Map<string, Item[]>();
  for (const item of items) {
    const key = item.labels.join(' ');
    const members = byLabel.get(key) ?? [];
    members.push(item);
    byLabel.set(key, members);
  }
  return byLabel;
}

/**
 * Holds out part of the labelled items for validation. `label`: whole classes go to validation
 * (the test set shows new classes, as in Shopee and retrieval), so a label never spans both sides.
 * `item`: each item but one of every class goes to validation with probability `fraction`, so
 * every class keeps at least one training item.
 */
export function splitForValidation(
  items: readonly Item[],
  options: CompetitionConfig['validation'],
  random: Random,
): { train: Item[]; validation: Item[] } {
  const byLabel = byLabelKey(items);
  const labels = random.shuffle([...byLabel.keys()].sort());
  const train: Item[] = [];
  const validation: Item[] = [];
  if (options.by === 'label') {
    const wanted = Math.round(items.length * options.fraction);
    for (const label of labels) {
      const members = byLabel.get(label)!;
      (validation.length < wanted && members.length >= 2 ? validation : train).push(...members);
    }
  } else {
    for (const label of labels) {
      const [kept, ...rest] = random.shuffle([...byLabel.get(label)!]);
      train.push(kept!);
      for (const member of rest) (random.next() < options.fraction ? validation : train).push(member);
    }
  }
  return { train, validation };
}

/**
 * Splits every item into `count` folds for cross-validation, the way `splitForValidation` splits by `by`.
 * `label`: group folds, each label's items all in one fold (the largest groups placed first, each in the
 * smallest fold so far). `item`: each label's items dealt round the folds, so a class of n ≥ 2 items keeps a
 * training item whichever fold is held out.
 */
export function foldsFor(
  items: readonly Item[],
  count: number,
  by: CompetitionConfig['validation']['by'],
  random: Random,
): Item[][] {
  const byLabel = byLabelKey(items);
  const groups = random.shuffle([...byLabel.keys()].sort()).map((label) => byLabel.get(label)!);
  const units = by === 'label' ? groups.length : items.length;
  if (count < 2 || count > units)
    throw new UserError(
      `--folds ${count}: expected 2 to ${units} folds (the ${by === 'label' ? 'labels' : 'items'} of the train set)`,
    );
  const folds: Item[][] = Array.from({ length: count }, () => []);
  if (by === 'label') {
    const largestFirst = groups.map((members, order) => ({ members, order }));
    largestFirst.sort((a, b) => b.members.length - a.members.length || a.order - b.order);
    for (const { members } of largestFirst) {
      const smallest = folds.reduce((best, fold, f) => (fold.length < folds[best]!.length ? f : best), 0);
      folds[smallest]!.push(...members);
    }
  } else {
    let next = 0;
    for (const members of groups)
      for (const member of random.shuffle([...members])) folds[next++ % count]!.push(member);
  }
  return folds;
}
