import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingLoss, LossFactory } from '../../../core/contracts/loss.js';
import type { Reducer } from '../../../core/losses/reducers.js';
import { registrations, Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { createObjective } from '../../../core/losses/objective.js';
import { defineDistance } from '../../../core/losses/distances.js';
import { REPO_ROOT } from '../../repo-root.js';
import { simkitInProcess } from '../../core/cli/in-process.js';
import { expectNoLeak } from '../losses/helpers.js';

// Raw rows (the plugin's distance is asked not to normalise them).
const X = [
  [2, 0.4, 0],
  [0.9, 0.4, 0.1],
  [0, 3, 0.9],
  [0.5, 0.8, -1],
];
const LABELS = [0, 0, 1, 1];
const NEGATIVE_MARGIN = 4;

/** A plugin module: the L1 distance and a reducer that halves the sum, registered by name. */
const pluginModule = () =>
  Promise.resolve(
    registrations('Distance', [
      defineDistance('manhattan', 'Σ|x − y| (a plugin)', false, (x, y) =>
        tf.tidy(() => x.expandDims(1).sub(y.expandDims(0)).abs().sum(2) as tf.Tensor2D),
      ),
    ]),
  );
const reducerModule = () =>
  Promise.resolve(
    registrations<Reducer>('Reducer', [
      {
        name: 'half-sum',
        description: 'half the sum of the terms (a plugin)',
        defaults: {},
        create: () => ({ name: 'half-sum', weights: (_values, mask) => mask.clone(), divisor: () => tf.scalar(2) }),
      },
    ]),
  );

let app: Simkit;
beforeAll(async () => {
  await initEngine('cpu');
  app = await Simkit.create({
    extra: [
      { origin: { source: 'test', module: 'manhattan' }, load: pluginModule },
      { origin: { source: 'test', module: 'half-sum' }, load: reducerModule },
    ],
  });
});

/** Contrastive over ordered pairs i ≠ j with the L1 distance, reduced by half the sum, in float64. */
function contrastiveL1HalfSum(): number {
  let total = 0;
  for (let i = 0; i < X.length; i++)
    for (let j = 0; j < X.length; j++) {
      if (i === j) continue;
      const d = X[i]!.reduce((s, v, k) => s + Math.abs(v - X[j]![k]!), 0);
      total += LABELS[i] === LABELS[j] ? d : Math.max(NEGATIVE_MARGIN - d, 0);
    }
  return total / 2;
}

describe('distances, reducers and regularisers through the container', () => {
  it('registers the built-in ones by name under their kinds', () => {
    expect(app.registry('Distance').names()).toEqual(['cosine', 'dot', 'l2', 'manhattan', 'snr', 'squared-l2']);
    expect(app.registry('Reducer').names()).toEqual([
      'half-sum',
      'mean',
      'mean-non-zero',
      'per-anchor',
      'sum',
      'threshold',
    ]);
    expect(app.registry('Regularizer').names()).toEqual(['lp']);
    expect(app.registry('Task').names()).toEqual(['classify', 'match', 'multilabel', 'recognize', 'retrieve']);
  });

  it("a config naming a plugin's distance and reducer trains with them", () => {
    const objective = createObjective(
      app,
      {
        loss: 'contrastive',
        lossOptions: {
          distance: { name: 'manhattan', normalize: false },
          reducer: 'half-sum',
          negativeMargin: NEGATIVE_MARGIN,
        },
        head: 'none',
      },
      { embeddingDim: 3, numClasses: 2 },
    );
    const value = tf.tidy(() =>
      objective.loss({ kind: 'labels', embeddings: tf.tensor2d(X), labels: tf.tensor1d(LABELS, 'int32') }).arraySync(),
    );
    expect(value).toBeCloseTo(contrastiveL1HalfSum(), 4);
    expectNoLeak(
      () =>
        tf.dispose(
          tf.tidy(() =>
            objective.loss({ kind: 'labels', embeddings: tf.tensor2d(X), labels: tf.tensor1d(LABELS, 'int32') }),
          ),
        ),
      'manhattan',
    );
    objective.dispose();
  });

  it("the plugin's distance takes the registry's option checks", () => {
    const loss = app.registry<LossFactory>('Loss');
    expect(() => loss.create('triplet', { distance: { name: 'manhattan', p: 1 } })).toThrow(
      /triplet: distance "manhattan" has no option "p"; its options: normalize/,
    );
    expect(() => loss.create('triplet', { distance: 'chebyshev' })).toThrow(/triplet: unknown distance "chebyshev"/);
    const built = loss.create('contrastive', { distance: 'manhattan' })({ embeddingDim: 3, numClasses: 2 });
    expect(built.input).toBe('embeddings');
    (built as EmbeddingLoss).dispose();
  });

  it('`simkit list` shows the new kinds', async () => {
    const result = await simkitInProcess(['list', 'distances'], { cwd: REPO_ROOT });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^distances \(5\)\n/);
    expect(result.stdout).toMatch(/\n {2}squared-l2 +‖x − y‖²\n/);
    const all = await simkitInProcess(['list'], { cwd: REPO_ROOT });
    for (const kind of ['distances (5)', 'reducers (5)', 'regularizers (1)', 'tasks (5)'])
      expect(all.stdout).toContain(`\n${kind}\n`);
    const lp = await simkitInProcess(['list', 'regularizers', 'lp'], { cwd: REPO_ROOT });
    expect(lp.stdout).toMatch(/\n {2}p +2 +The norm's p/);
  });
});
