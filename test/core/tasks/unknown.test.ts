import { describe, expect, it } from 'vitest';
import type { Item } from '../../../core/contracts/competition.js';
import { withImpliedUnknown } from '../../../core/tasks/unknown.js';

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
