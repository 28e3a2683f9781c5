import { describe, expect, it } from 'vitest';
import type { Item } from '../../../core/contracts/competition.js';
import { Random } from '../../../core/random.js';
import { unknownLabelSplit, withImpliedUnknown } from '../../../core/tasks/unknown.js';

const item = (id: string, labels: string[]): Item => ({ id, labels, extra: { id } });

describe('implied unknown labels', () => {
  it('a validation item whose class the training split lacks counts as the unknown label', () => {
    const train = [item('t1', ['w1']), item('t2', ['w2'])];
    const validation = [item('v1', ['w1']), item('v2', ['w9']), item('v3', ['new_whale']), item('v4', ['w2', 'w8'])];
    const result = withImpliedUnknown(validation, train, 'new_whale');
    expect(result.map((i) => i.labels)).toEqual([['w1'], ['new_whale'], ['new_whale'], ['w2', 'new_whale']]);
    // Known items are passed through as they are; the others keep every other field.
    expect(result[0]).toBe(validation[0]);
    expect(result[1]).toEqual({ id: 'v2', labels: ['new_whale'], extra: { id: 'v2' } });
    expect(validation[1]!.labels).toEqual(['w9']);
  });

  it('several unseen classes of one item become one unknown label', () => {
    expect(withImpliedUnknown([item('v', ['x', 'y'])], [item('t', ['z'])], 'other')[0]!.labels).toEqual(['other']);
  });
});

describe('the split of a competition with an unknown label', () => {
  it('unknown items and a share of the single-item classes validate as the unknown label; train never names it', () => {
    const singles = Array.from({ length: 200 }, (_, i) => item(`s${i}`, [`single_${i}`]));
    const split = {
      train: [item('a1', ['a']), item('b1', ['b']), item('b2', ['b']), item('n1', ['new_whale']), ...singles],
      validation: [item('a2', ['a'])],
    };
    const { train, validation } = unknownLabelSplit(split, 'new_whale', 0.25, new Random(7));
    expect(train.some((i) => i.labels.includes('new_whale'))).toBe(false);
    // a keeps its training item; b has two, so it is no single class.
    expect(train.map((i) => i.id)).toEqual(expect.arrayContaining(['a1', 'b1']));
    const heldSingles = validation.filter((i) => i.id.startsWith('s'));
    expect(heldSingles.length).toBeGreaterThan(30);
    expect(heldSingles.length).toBeLessThan(70);
    expect(heldSingles.every((i) => i.labels.join() === 'new_whale')).toBe(true);
    expect(validation.find((i) => i.id === 'a2')!.labels).toEqual(['a']);
    expect(validation.find((i) => i.id === 'n1')!.labels).toEqual(['new_whale']);
    expect(train.length + validation.length).toBe(split.train.length + split.validation.length);
    // Deterministic for a seed.
    expect(unknownLabelSplit(split, 'new_whale', 0.25, new Random(7)).validation.map((i) => i.id)).toEqual(
      validation.map((i) => i.id),
    );
  });
});
