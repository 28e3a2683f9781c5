import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../../core/contracts/competition.js';
import type { KnnState } from '../../../core/contracts/postprocessor.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { formatSummary } from '../../../core/cli/commands/run.js';
import {
  PSEUDO_LABELS_FILE,
  PSEUDO_LABEL_PREFIX,
  pseudoLabelled,
  tunedConfidence,
} from '../../../core/pipeline/pseudo-labels.js';
import { runCompetition } from '../../../core/pipeline/run.js';
import { Random } from '../../../core/random.js';

function item(id: string, labels: string[] = []): Item {
  return { id, labels, extra: {} };
}

/** A state from explicit rows: `rows[q]` lists [gallery position, similarity], best first. */
function state(queries: Item[], gallery: Item[], rows: [number, number][][]): KnnState {
  return {
    dim: 1,
    queryIds: queries.map((q) => q.id),
    queryVectors: new Float32Array(queries.length),
    galleryIds: gallery.map((g) => g.id),
    galleryVectors: new Float32Array(gallery.length),
    galleryLabels: gallery.map((g) => g.labels.join(' ')),
    neighbours: rows.map((row) => ({ indices: row.map(([g]) => g), similarities: row.map(([, s]) => s) })),
    queryItems: queries,
    galleryItems: gallery,
  };
}

describe('pseudo-labels', () => {
  it('tunes the confidence: the lowest similarity whose pairs at or above it reach the precision (brute force)', () => {
    const random = new Random(9);
    const gallery = Array.from({ length: 30 }, (_, g) => item(`g${g}`, [`c${g % 5}`]));
    const queries = gallery.slice(0, 20);
    const rows = queries.map(() =>
      Array.from({ length: 8 }, () => [random.int(30), Math.round(random.next() * 20) / 20] as [number, number]).sort(
        (a, b) => b[1] - a[1],
      ),
    );
    const s = state(queries, gallery, rows);
    const truth = queries.map((q) => q.labels);
    for (const precision of [0.3, 0.5, 0.8, 1]) {
      const pairs = rows.flatMap((row, q) =>
        row.filter(([g]) => g !== q).map(([g, sim]) => ({ sim, match: gallery[g]!.labels[0] === truth[q]![0] })),
      );
      const candidates = [...new Set(pairs.map((p) => p.sim))].sort((a, b) => a - b);
      const expected =
        candidates.find((t) => {
          const above = pairs.filter((p) => p.sim >= t);
          return above.filter((p) => p.match).length / above.length >= precision;
        }) ?? null;
      expect(tunedConfidence(s, truth, precision)).toBe(expected);
    }
  });

  it('makes a new class of each confident test cluster, drops weak links and clusters over the size limit', () => {
    const tests = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => item(id));
    // a–b–c chained above 0.8, d–e below it, f–g–h above it but three items.
    const rows: [number, number][][] = [
      [
        [0, 1],
        [1, 0.9],
      ],
      [
        [1, 1],
        [2, 0.85],
      ],
      [[2, 1]],
      [
        [3, 1],
        [4, 0.5],
      ],
      [[4, 1]],
      [
        [5, 1],
        [6, 0.95],
        [7, 0.95],
      ],
      [[6, 1]],
      [[7, 1]],
    ];
    const labelled = pseudoLabelled(state(tests, tests, rows), 0.8, 3);
    const classes = new Map(labelled.map((i) => [i.id, i.labels[0]]));
    expect([...classes.keys()].sort()).toEqual(['a', 'b', 'c', 'f', 'g', 'h']);
    expect(classes.get('a')).toMatch(new RegExp(`^${PSEUDO_LABEL_PREFIX}`));
    expect(new Set([classes.get('a'), classes.get('b'), classes.get('c')]).size).toBe(1);
    expect(classes.get('f')).not.toBe(classes.get('a'));
    expect(
      pseudoLabelled(state(tests, tests, rows), 0.8, 2)
        .map((i) => i.id)
        .sort(),
    ).toEqual([]);
  });

  it('gives test items a known class when their cluster holds gallery items of that one label, none when mixed', () => {
    const queries = [item('q1'), item('q2'), item('q3')];
    const gallery = [item('g1', ['L1']), item('g2', ['L1']), item('g3', ['L2']), item('g4', ['L3'])];
    const rows: [number, number][][] = [
      [[0, 0.9]],
      [
        [1, 0.95],
        [0, 0.9],
      ],
      [
        [2, 0.9],
        [3, 0.85],
      ],
    ];
    const labelled = pseudoLabelled(state(queries, gallery, rows), 0.8, 10);
    expect(labelled).toEqual([
      { ...queries[0], labels: ['L1'] },
      { ...queries[1], labels: ['L1'] },
    ]);
  });
});

describe('simkit run with pseudoLabels on the Hotel-ID sample (one epoch)', () => {
  beforeAll(async () => {
    await initEngine('native');
  });

  it('trains a second round in run/pseudo-labels and reports both validations on the same held-out items', async () => {
    const app = await Simkit.create();
    const out = mkdtempSync(join(tmpdir(), 'simkit-pseudo-'));
    const summary = await runCompetition(app, {
      competition: 'hotels',
      out,
      epochs: 1,
      overrides: { pseudoLabels: { enabled: true, precision: 0.2, maxClusterSize: 50 } },
      leaderboard: join(out, 'leaderboard.sqlite'),
    });
    const round = summary.pseudoLabels!;
    expect(round.firstValidation).toEqual(expect.any(Number));
    expect(summary.validation).toEqual(expect.any(Number));
    expect(existsSync(join(summary.runDir, 'pseudo-labels', 'image', 'model', 'model.json'))).toBe(true);
    const joined = readFileSync(join(summary.runDir, 'pseudo-labels', PSEUDO_LABELS_FILE), 'utf8')
      .trim()
      .split('\n');
    expect(joined[0]).toBe('id,label');
    expect(joined.length - 1).toBe(round.items);
    const testIds = new Set(readdirSync(join(out, 'sample', 'test_images')));
    for (const row of joined.slice(1)) expect(testIds.has(row.split(',')[0]!)).toBe(true);
    expect(formatSummary(summary)).toMatch(/validation before pseudo-labels\s+\d\.\d{4}/);
  }, 600_000);
});
