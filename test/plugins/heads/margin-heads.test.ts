import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HeadFactory } from '../../../core/contracts/loss.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { createObjective } from '../../../core/losses/objective.js';
import { ArcFaceHead, ARCFACE_DEFAULTS } from '../../../plugins/heads/arcface.js';
import { CosFaceHead } from '../../../plugins/heads/cosface.js';
import { SphereFaceHead, SPHEREFACE_DEFAULTS } from '../../../plugins/heads/sphereface.js';
import { softmaxCrossEntropy } from '../../../plugins/losses/cross-entropy.js';
import { checkGradient, expectClose, expectNoLeak } from '../losses/helpers.js';

const E = [
  [0.6, 0.8, 0],
  [1, 0, 0],
  [0, 0, 0],
];
const W = [
  [1, 0, 0],
  [0, 0.6, 0.8],
  [-1, 0, 0],
  [0, 1, 0],
];
const LABELS = [1, 2, 0];
const dims = { embeddingDim: 3, numClasses: 4 };
// A generic point for gradient checks (no cosine at ±1, no tie between sub-centres).
const X = [
  [0.6, 0.7, 0.1],
  [0.9, 0.2, -0.3],
  [0.2, -0.5, 0.4],
];

const unit64 = (v: number[]) => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0) + 1e-12);
  return v.map((x) => x / n);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const clampedAcos = (cos: number) => Math.acos(Math.min(1 - 1e-7, Math.max(-1 + 1e-7, cos)));

/** Cosine of each embedding to each class: max over the class's `centres` consecutive rows of `weights`. */
function cosines64(embeddings: number[][], weights: number[][], centres = 1): number[][] {
  return embeddings.map((e) =>
    Array.from({ length: weights.length / centres }, (_, c) =>
      Math.max(...weights.slice(c * centres, (c + 1) * centres).map((w) => dot(unit64(e), unit64(w)))),
    ),
  );
}

function logits64(cosines: number[][], target: (cos: number, c: number) => number, scale: number): number[][] {
  return cosines.map((row, b) => row.map((cos, c) => (c === LABELS[b] ? target(cos, c) : scale * cos)));
}

function arcface64(m: number, s: number) {
  return (cos: number) => {
    const theta = clampedAcos(cos);
    return s * (theta + m > Math.PI ? cos - m * Math.sin(m) : Math.cos(theta + m));
  };
}

function crossEntropy64(logits: number[][], smoothing = 0): number {
  let total = 0;
  logits.forEach((row, b) => {
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    row.forEach((x, c) => {
      const t = (c === LABELS[b] ? 1 - smoothing : 0) + smoothing / row.length;
      total -= t * (x - logSum);
    });
  });
  return total / logits.length;
}

const labels = () => tf.tensor1d(LABELS, 'int32');
const headLogits = (head: { logits(e: tf.Tensor2D, l?: tf.Tensor1D): tf.Tensor2D }, e = E) =>
  tf.tidy(() => head.logits(tf.tensor2d(e), labels()).arraySync());

describe('margin heads and cross-entropy (recomputed in float64)', () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });

  it('ArcFace: s·cos(θ+m) on the true class, cos θ − m·sin m past π, plain s·cos θ elsewhere', () => {
    const head = new ArcFaceHead(dims, { ...ARCFACE_DEFAULTS, margin: 0.5, scale: 30, initialWeights: tf.tensor2d(W) });
    expectClose(headLogits(head), logits64(cosines64(E, W), arcface64(0.5, 30), 30), 1e-3);
    // Row 1 (label 2) has cos = −1: θ + m > π takes the fallback.
    expect(cosines64(E, W)[1]![2]).toBeCloseTo(-1, 6);
    // Without labels: s·cos θ for every class (inference).
    expectClose(
      tf.tidy(() => head.logits(tf.tensor2d(E)).arraySync()),
      cosines64(E, W).map((row) => row.map((c) => 30 * c)),
      1e-3,
    );
    head.dispose();
  });

  it('sub-center ArcFace: the cosine to a class is the max over its k centres', () => {
    const centres = [
      [1, 0, 0],
      [0, 0, 1],
      [0, 0.6, 0.8],
      [0.3, -1, 0],
      [-1, 0, 0],
      [0, 0.2, -1],
      [0, 1, 0],
      [1, 1, 1],
    ];
    const head = app
      .registry<HeadFactory>('Head')
      .create('subcenter-arcface', { margin: 0.4, scale: 8, centres: 2, initialWeights: tf.tensor2d(centres) })(dims);
    expectClose(headLogits(head, X), logits64(cosines64(X, centres, 2), arcface64(0.4, 8), 8), 1e-3);
    expect(head.variables()[0]!.shape).toEqual([8, 3]);
    head.dispose();
  });

  it('dynamic margins m_c = a·n_c^(−λ) + b, and a schedule raising them linearly from its start', () => {
    const counts = [1, 16, 81, 4];
    const [a, lambda, b] = [0.4, 0.25, 0.05];
    const margins = counts.map((n) => a * n ** -lambda + b);
    const head = new ArcFaceHead(
      { ...dims, classCounts: counts },
      { ...ARCFACE_DEFAULTS, scale: 10, dynamic: { a, lambda, b }, initialWeights: tf.tensor2d(W) },
    );
    expectClose(
      headLogits(head, X),
      logits64(cosines64(X, W), (cos, c) => arcface64(margins[c]!, 10)(cos), 10),
      1e-3,
    );
    head.dispose();
    expect(() => new ArcFaceHead(dims, { ...ARCFACE_DEFAULTS, dynamic: { a, lambda, b } })).toThrow(/count/);

    const scheduled = new ArcFaceHead(dims, {
      ...ARCFACE_DEFAULTS,
      margin: 0.5,
      scale: 10,
      schedule: { start: 0.1, epochs: 2 },
      initialWeights: tf.tensor2d(W),
    });
    const expectMargin = (m: number) =>
      expectClose(headLogits(scheduled, X), logits64(cosines64(X, W), arcface64(m, 10), 10), 1e-3);
    expectMargin(0.1);
    scheduled.onStep({ epoch: 0, step: 4, epochs: 4, stepsPerEpoch: 5 }); // 5 of 10 steps: half way
    expectMargin(0.3);
    scheduled.onStep({ epoch: 3, step: 19, epochs: 4, stepsPerEpoch: 5 });
    expectMargin(0.5);
    scheduled.dispose();
  });

  it('CosFace and SphereFace true-class logits', () => {
    const cosface = new CosFaceHead(dims, { margin: 0.35, scale: 10, initialWeights: tf.tensor2d(W) });
    expectClose(
      headLogits(cosface),
      logits64(cosines64(E, W), (c) => 10 * (c - 0.35), 10),
    );
    const sphere = new SphereFaceHead(dims, {
      ...SPHEREFACE_DEFAULTS,
      psi: 'linear',
      margin: 1.35,
      scale: 10,
      initialWeights: tf.tensor2d(W),
    });
    const psi = (cos: number) => {
      const mt = 1.35 * clampedAcos(cos);
      return 10 * (Math.cos(Math.min(mt, Math.PI)) - (2 / Math.PI) * Math.max(mt - Math.PI, 0));
    };
    expectClose(headLogits(sphere), logits64(cosines64(E, W), psi, 10), 1e-3);
    cosface.dispose();
    sphere.dispose();
  });

  it("SphereFace psi 'piecewise': (−1)^k·cos(mθ) − 2k with k = ⌊mθ/π⌋ (the paper's and PML's ψ), gradient included", () => {
    const psi = (m: number, s: number) => (cos: number) => {
      const mt = m * clampedAcos(cos);
      const k = Math.floor(mt / Math.PI);
      return s * ((-1) ** k * Math.cos(mt) - 2 * k);
    };
    // θ of the true classes: 0.93 (row 0), π (row 1), π/2 (row 2): with m = 4, k = 1, 3 and 2.
    for (const m of [4, 1.35]) {
      const sphere = new SphereFaceHead(dims, {
        ...SPHEREFACE_DEFAULTS,
        margin: m,
        scale: 10,
        psi: 'piecewise',
        initialWeights: tf.tensor2d(W),
      });
      expectClose(headLogits(sphere), logits64(cosines64(E, W), psi(m, 10), 10), 2e-3);
      checkGradient((e) => softmaxCrossEntropy(sphere.logits(e, labels()), labels(), 0), X);
      sphere.dispose();
    }
    // Continuous in θ at the joins: ψ(kπ/m) from both sides.
    const at = (theta: number) => psi(4, 1)(Math.cos(theta));
    for (const k of [1, 2, 3]) expect(at((k * Math.PI) / 4 - 1e-6)).toBeCloseTo(at((k * Math.PI) / 4 + 1e-6), 4);
    expect(() => app.registry<HeadFactory>('Head').create('sphereface', { psi: 'cubic' })(dims)).toThrow(
      /unknown psi "cubic"/,
    );
  });

  it("SphereFace scaleByNorm: every logit times the embedding's raw length ‖x‖ (PML SphereFaceLoss), gradient included", () => {
    // PML's SphereFaceLoss(margin=4, scale=1): ψ on the true class, cos elsewhere, then × ‖x‖ × s.
    const [m, s] = [4, 2];
    const raw = X.map((row, b) => row.map((v) => v * (b + 1.5)));
    const psi = (cos: number) => {
      const mt = m * clampedAcos(cos);
      const k = Math.floor(mt / Math.PI);
      return (-1) ** k * Math.cos(mt) - 2 * k;
    };
    const expected = logits64(cosines64(raw, W), (cos) => s * psi(cos), s).map((row, b) =>
      row.map((logit) => logit * Math.hypot(...raw[b]!)),
    );
    const sphere = app.registry<HeadFactory>('Head').create('sphereface', {
      margin: m,
      scale: s,
      psi: 'piecewise',
      scaleByNorm: true,
      initialWeights: tf.tensor2d(W),
    })(dims);
    expectClose(headLogits(sphere, raw), expected, 2e-3);
    // Without labels (inference): s·cos θ·‖x‖.
    expectClose(
      tf.tidy(() => sphere.logits(tf.tensor2d(raw)).arraySync()),
      cosines64(raw, W).map((row, b) => row.map((c) => s * c * Math.hypot(...raw[b]!))),
      2e-3,
    );
    checkGradient((e) => softmaxCrossEntropy(sphere.logits(e, labels()), labels(), 0), raw);
    expectNoLeak(
      () =>
        tf.tidy(() => {
          tf.variableGrads(() => softmaxCrossEntropy(sphere.logits(tf.tensor2d(raw), labels()), labels(), 0));
        }),
      'sphereface scaleByNorm',
    );
    sphere.dispose();
    // The default leaves the unit row's logits: ‖x‖ plays no part.
    const plain = new SphereFaceHead(dims, {
      ...SPHEREFACE_DEFAULTS,
      margin: m,
      scale: s,
      psi: 'piecewise',
      initialWeights: tf.tensor2d(W),
    });
    expectClose(
      headLogits(plain, raw),
      logits64(cosines64(raw, W), (cos) => s * psi(cos), s),
      2e-3,
    );
    plain.dispose();
  });

  it("dynamic-arcface against PML 3's DynamicArcFaceLoss: m_c = a·n_c^(−λ) + b radians on SubCenterArcFace (3 centres, s 64)", () => {
    // PML: margins a·n^(−λ0) + b with a 0.5, λ0 0.25, b 0.05 (radians, set on the wrapped loss after its degree
    // conversion), the true class's margin per row, SubCenterArcFaceLoss(sub_centers=3, scale=64) by default.
    const counts = [1, 16, 81, 4];
    const margins = counts.map((n) => 0.5 * n ** -0.25 + 0.05);
    const centres = [
      [1, 0, 0],
      [0, 0, 1],
      [0.2, 0.1, -1],
      [0, 0.6, 0.8],
      [0.3, -1, 0],
      [0.5, 0.5, 0],
      [-1, 0, 0],
      [0, 0.2, -1],
      [0.1, -0.3, 0.4],
      [0, 1, 0],
      [1, 1, 1],
      [-0.2, 0.4, 0.1],
    ];
    const pmlOptions = { dynamic: { a: 0.5, lambda: 0.25, b: 0.05 }, centres: 3, scale: 64 };
    const head = app
      .registry<HeadFactory>('Head')
      .create('dynamic-arcface', { ...pmlOptions, initialWeights: tf.tensor2d(centres) })({
      ...dims,
      classCounts: counts,
    });
    const expected = logits64(cosines64(X, centres, 3), (cos, c) => arcface64(margins[c]!, 64)(cos), 64);
    expectClose(headLogits(head, X), expected, 5e-3);
    const loss = tf.tidy(() => softmaxCrossEntropy(head.logits(tf.tensor2d(X), labels()), labels(), 0).arraySync());
    expect(Math.abs(loss - crossEntropy64(expected)) / crossEntropy64(expected)).toBeLessThan(1e-4);
    head.dispose();
  });

  it('ArcFace marginDegrees: PML 2.x margin 28.6 degrees is 0.4992 radians, the same logits', () => {
    const degrees = app
      .registry<HeadFactory>('Head')
      .create('arcface', { marginDegrees: 28.6, scale: 30, initialWeights: tf.tensor2d(W) })(dims);
    expectClose(headLogits(degrees), logits64(cosines64(E, W), arcface64((28.6 * Math.PI) / 180, 30), 30), 1e-3);
    degrees.dispose();
    expect(() => app.registry<HeadFactory>('Head').create('arcface', { marginDegree: 28.6 })).toThrow(
      /has no option "marginDegree"/,
    );
  });

  it('cross-entropy with label smoothing matches the formula', () => {
    const logits = [
      [2, -1, 0.5, 3],
      [0, 0, 0, 0],
      [10, -10, 5, 1],
    ];
    for (const smoothing of [0, 0.1]) {
      const value = tf.tidy(() => softmaxCrossEntropy(tf.tensor2d(logits), labels(), smoothing).arraySync());
      expect(value).toBeCloseTo(crossEntropy64(logits, smoothing), 4);
    }
  });

  it('every head + cross-entropy: gradients match finite differences; zero embeddings and cos = ±1 stay finite', () => {
    for (const [name, options] of [
      ['arcface', { margin: 0.3, scale: 4 }],
      [
        'subcenter-arcface',
        {
          margin: 0.3,
          scale: 4,
          centres: 2,
          initialWeights: tf.tensor2d(
            [...W, ...W.map((r) => r.map((x) => -x))].map((r, i) => r.map((x) => x + 0.1 * i)),
          ),
        },
      ],
      ['dynamic-arcface', { scale: 4 }],
      ['cosface', { scale: 4 }],
      ['sphereface', { scale: 4 }],
      ['dense', {}],
    ] as const) {
      const head = app.registry<HeadFactory>('Head').create(name, { initialWeights: tf.tensor2d(W), ...options })({
        ...dims,
        classCounts: [3, 5, 1, 9],
      });
      const lossAt = (e: tf.Tensor2D, l = labels()) => softmaxCrossEntropy(head.logits(e, l), l, 0.1);
      checkGradient(lossAt, X);
      for (const at of [E, W.slice(0, 3), W.slice(0, 3).map((r) => r.map((x) => -x))]) {
        const { grads, value } = tf.variableGrads(() => lossAt(tf.tensor2d(at)), head.variables());
        expect(Number.isFinite(value.dataSync()[0]), name).toBe(true);
        for (const g of Object.values(grads)) expect(g.dataSync().every(Number.isFinite), name).toBe(true);
        const embeddingGrad = tf.grad((t: tf.Tensor) => lossAt(t as tf.Tensor2D))(tf.tensor2d(at));
        expect(embeddingGrad.dataSync().every(Number.isFinite), name).toBe(true);
        tf.dispose([value, embeddingGrad, ...Object.values(grads)]);
      }
      head.dispose();
    }
  });

  it('leaks no tensors over 100 training steps with any head', () => {
    const embeddings = tf.variable(tf.randomNormal([3, 3], 0, 1, 'float32', 3));
    const y = labels();
    const optimizer = tf.train.sgd(0.1);
    for (const head of ['arcface', 'subcenter-arcface', 'dynamic-arcface', 'cosface', 'sphereface', 'dense']) {
      // Only the ArcFace heads have a margin schedule; the registry rejects the option elsewhere.
      const headOptions = head.endsWith('arcface') ? { schedule: { start: 0.1, epochs: 1 } } : {};
      const objective = createObjective(app, { head, headOptions }, { ...dims, classCounts: [3, 5, 1, 9] });
      let step = 0;
      expectNoLeak(() => {
        objective.onStep({ epoch: 0, step: step++, epochs: 1, stepsPerEpoch: 100 });
        optimizer.minimize(
          () => objective.loss({ kind: 'labels', embeddings: embeddings as tf.Tensor2D, labels: y }),
          false,
          [embeddings, ...objective.variables()],
        );
      }, head);
      objective.dispose();
    }
    optimizer.dispose();
    tf.dispose([embeddings, y]);
  });
});
