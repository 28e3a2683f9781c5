import { beforeAll, describe, expect, it } from 'vitest';
import type { ObjectiveConfig, ObjectiveDims } from '../../../core/contracts/loss.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { initialClassMatrix } from '../../../core/losses/class-matrix.js';
import { createObjective } from '../../../core/losses/objective.js';
import { DEFAULT_SEED, deriveSeed } from '../../../core/random.js';
import { expectNoLeak } from '../../plugins/losses/helpers.js';

let app: Simkit;
beforeAll(async () => {
  await initEngine('cpu');
  app = await Simkit.create();
});

const DIMS: ObjectiveDims = { embeddingDim: 6, numClasses: 4, classCounts: [2, 2, 2, 2] };

/** The objective's trainable weights by checkpoint name, as plain arrays. */
function initialWeights(config: ObjectiveConfig, seed: number | undefined): Record<string, number[][]> {
  const objective = createObjective(app, config, { ...DIMS, seed });
  try {
    return Object.fromEntries(
      Object.entries(objective.getWeights()).map(([name, value]) => [name, value.arraySync() as number[][]]),
    );
  } finally {
    objective.dispose();
  }
}

const ARCFACE: ObjectiveConfig = { head: 'arcface', loss: 'cross-entropy' };
const PROXY_ANCHOR: ObjectiveConfig = { head: 'none', loss: 'proxy-anchor' };

describe('the class matrices follow the seed', () => {
  it("draws a head's matrix with the seed derived from the objective's seed and the head's name", () => {
    const expected = initialClassMatrix([4, 6], deriveSeed(5, 'head', 'arcface'));
    expect(initialWeights(ARCFACE, 5)['head/weight']).toEqual(expected.arraySync());
    expected.dispose();
  });

  it("draws a loss's proxies with the seed derived from the objective's seed and the loss's name", () => {
    const expected = initialClassMatrix([4, 6], deriveSeed(5, 'loss', 'proxy-anchor'));
    expect(initialWeights(PROXY_ANCHOR, 5)['loss/proxies']).toEqual(expected.arraySync());
    expected.dispose();
  });

  it('repeats for a seed, changes with it, and takes the default seed when none is given', () => {
    for (const config of [ARCFACE, PROXY_ANCHOR, { head: 'dense', loss: 'cross-entropy' }]) {
      expect(initialWeights(config, 11)).toEqual(initialWeights(config, 11));
      expect(initialWeights(config, 11)).not.toEqual(initialWeights(config, 12));
      expect(initialWeights(config, undefined)).toEqual(initialWeights(config, DEFAULT_SEED));
    }
  });

  it('gives two models of one run (seeded by their names) different matrices of the same shape', () => {
    const image = initialWeights(ARCFACE, deriveSeed(42, 'model', 'image'))['head/weight']!;
    const second = initialWeights(ARCFACE, deriveSeed(42, 'model', 'image-large'))['head/weight']!;
    expect(second).toHaveLength(image.length);
    expect(second).not.toEqual(image);
  });

  it('leaks no tensors building and disposing an objective', () => {
    for (const config of [ARCFACE, PROXY_ANCHOR, { head: 'dense', loss: 'cross-entropy' }])
      expectNoLeak(() => createObjective(app, config, { ...DIMS, seed: 3 }).dispose(), JSON.stringify(config));
  });
});

describe('initialClassMatrix', () => {
  it('draws N(0, 1/√D) values', () => {
    const matrix = initialClassMatrix([400, 25], 9);
    const values = Array.from(matrix.dataSync());
    matrix.dispose();
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    const variance = values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.sqrt(variance)).toBeCloseTo(1 / 5, 2);
  });
});
