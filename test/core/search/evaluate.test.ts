import { describe, expect, it } from 'vitest';
import { evaluateEmbeddings, evaluationTable } from '../../../core/search/evaluate.js';
import { Random } from '../../../core/random.js';
import { idsFor, unitVectors } from './helpers.js';

const DIM = 6;

/** Float64 loops from the definitions: ranks by exact dot product, self (same id) left out. */
function reference(
  queries: { ids: string[]; labels: string[]; vectors: Float32Array },
  gallery: { ids: string[]; labels: string[]; vectors: Float32Array },
  k: number,
  rate: number,
) {
  const dot = (q: number, g: number) => {
    let s = 0;
    for (let d = 0; d < DIM; d++) s += queries.vectors[q * DIM + d]! * gallery.vectors[g * DIM + d]!;
    return s;
  };
  let [counted, cmc, precision, mapR, mapK] = [0, 0, 0, 0, 0];
  const genuine: number[] = [];
  const impostor: number[] = [];
  queries.ids.forEach((id, q) => {
    const label = queries.labels[q]!;
    const others = gallery.ids.map((_, g) => g).filter((g) => gallery.ids[g] !== id);
    if (label !== '')
      for (const g of others)
        if (gallery.labels[g] !== '') (gallery.labels[g] === label ? genuine : impostor).push(dot(q, g));
    const ranked = others
      .sort((a, b) => dot(q, b) - dot(q, a))
      .map((g) => (label !== '' && gallery.labels[g] === label ? 1 : 0));
    const r = ranked.reduce((a: number, b) => a + b, 0);
    if (r === 0) return;
    counted++;
    cmc += ranked.slice(0, k).some(Boolean) ? 1 : 0;
    precision += ranked.slice(0, k).reduce((a: number, b) => a + b, 0) / Math.min(k, r);
    const ap = (cut: number) =>
      ranked
        .slice(0, cut)
        .reduce(
          (sum: number, hit, i) =>
            sum + (hit ? ranked.slice(0, i + 1).reduce((a: number, b) => a + b, 0) / (i + 1) : 0),
          0,
        );
    mapR += ap(r) / r;
    mapK += ap(k) / Math.min(k, r);
  });
  const sorted = [...impostor].sort((a, b) => b - a);
  const threshold = sorted[Math.floor(rate * sorted.length)]!;
  const fnmr = genuine.filter((s) => s <= threshold).length / genuine.length;
  return {
    counted,
    cmc: cmc / counted,
    precision: precision / counted,
    mapR: mapR / counted,
    mapK: mapK / counted,
    fnmr,
  };
}

describe('evaluateEmbeddings', () => {
  const random = new Random(3);
  const labelsOf = (n: number) => Array.from({ length: n }, () => (random.next() < 0.1 ? '' : `c${random.int(7)}`));

  it('against float64 loops: queries searching themselves (self left out), and a gallery sharing some ids', () => {
    const queries = { ids: idsFor(40), labels: labelsOf(40), vectors: unitVectors(40, DIM, 1) };
    const galleryIds = [...idsFor(10), ...idsFor(50, 'g')];
    const gallery = { ids: galleryIds, labels: labelsOf(60), vectors: unitVectors(60, DIM, 2) };
    for (const [searched, name] of [
      [undefined, 'self'],
      [gallery, 'gallery'],
    ] as const) {
      const expected = reference(queries, searched ?? queries, 5, 0.05);
      const measured = evaluateEmbeddings(queries, searched, DIM, { cutoffs: [5], falseMatchRates: [0.05] });
      expect(measured.retrieval.queries, name).toBe(expected.counted);
      expect(measured.retrieval.recallAt[5], name).toBeCloseTo(expected.cmc, 12);
      expect(measured.retrieval.precisionAt[5], name).toBeCloseTo(expected.precision, 12);
      expect(measured.retrieval.mapAtR, name).toBeCloseTo(expected.mapR, 12);
      expect(measured.retrieval.mapAt[5], name).toBeCloseTo(expected.mapK, 12);
      expect(measured.fnmrAtFmr[0.05], name).toBeCloseTo(expected.fnmr, 12);
    }
  });

  it('names its numbers in print order', () => {
    const set = { ids: idsFor(6), labels: ['a', 'a', 'b', 'b', 'c', 'c'], vectors: unitVectors(6, DIM, 4) };
    const names = evaluationTable(
      evaluateEmbeddings(set, undefined, DIM, { cutoffs: [1, 2], falseMatchRates: [0.1] }),
    ).map(([name]) => name);
    expect(names).toEqual(['CMC@1', 'CMC@2', 'precision@1', 'precision@2', 'MAP@R', 'mAP@1', 'mAP@2', 'FNMR@FMR=0.1']);
  });
});
