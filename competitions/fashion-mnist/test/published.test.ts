import { describe, expect, it } from 'vitest';
import { parseBenchmarkTable } from '../published.js';

describe('published Fashion-MNIST results', () => {
  it('reads accuracies from the README table, links reduced to their text, other rows skipped', () => {
    const markdown = [
      '| Classifier | Preprocessing | Fashion test accuracy | MNIST test accuracy | Submitter| Code |',
      '| --- | --- | --- | --- | --- |--- |',
      '|MLP 256-128-100| None | 0.8833| - | [@heitorrapela](https://github.com/heitorrapela)| [:link:](https://x)|',
      '|Human Performance| Crowd-sourced | 0.835 | - | Leo  | - |',
      '| Name  | Content | Examples | Size | Link |',
    ].join('\n');
    expect(parseBenchmarkTable(markdown)).toEqual([
      { classifier: 'MLP 256-128-100', preprocessing: 'None', accuracy: 0.8833, submitter: '@heitorrapela' },
      { classifier: 'Human Performance', preprocessing: 'Crowd-sourced', accuracy: 0.835, submitter: 'Leo' },
    ]);
  });
});
