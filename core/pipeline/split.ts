import type { CompetitionConfig, Item } from '../contracts/competition.js';
import type { Random } from '../random.js';

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
  const byLabel = new Map<string, Item[]>();
  for (const item of items) {
    const key = item.labels.join(' ');
    const members = byLabel.get(key) ?? [];
    members.push(item);
    byLabel.set(key, members);
  }
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
