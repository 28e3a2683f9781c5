import { describe, expect, it } from 'vitest';
import type { CompetitionConfig, Item } from '../../core/contracts/competition.js';
import { combinedVectors, extraMatches, type QueryVectors } from '../../core/pipeline/match-sources.js';
import { competition } from '../competitions/helpers.js';

function unit(angle: number): number[] {
  return [Math.cos(angle), Math.sin(angle)];
}

// Four postings: a and b share an image file (phash) but not a title; c's title is a's; d stands alone.
const ITEMS: Item[] = [
  { id: 'a', labels: [], phash: 'p1', text: 'red cotton shirt', extra: {} },
  { id: 'b', labels: [], phash: 'p1', text: 'steel knife', extra: {} },
  { id: 'c', labels: [], phash: 'p2', text: 'red cotton shirt', extra: {} },
  { id: 'd', labels: [], phash: 'p3', text: 'blue bottle', extra: {} },
];
// Angles of the image and text vectors of a, b, c, d.
const IMAGE_ANGLES = [0, 0.3, 1.2, 2.5];
const TEXT_ANGLES = [0, 1.0, 0.2, 0.25];
const vectors = (angles: number[]): QueryVectors => ({ vectors: Float32Array.from(angles.flatMap(unit)), dim: 2 });
const EMBEDDINGS = { image: vectors(IMAGE_ANGLES), text: vectors(TEXT_ANGLES) };

async function shopeeConfig(tune: CompetitionConfig['tune'] = {}) {
  const shopee = await competition('shopee');
  return { shopee, config: { ...shopee.config, neighbours: 4, tune } };
}

const self = ITEMS.map((item) => ({ id: item.id, labels: [item.id] }));
const matchesOf = (predictions: { id: string; labels: readonly string[] }[]) => Object.fromEntries(predictions.map((p) => [p.id, [...p.labels].sort().join(' ')]));

describe('match sources (Shopee)', () => {
  it('combined vectors: the inner product of two rows is the mean of their image and text cosines', () => {
    const combined = combinedVectors(EMBEDDINGS.image, EMBEDDINGS.text);
    expect(combined.dim).toBe(4);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        let dot = 0;
        for (let d = 0; d < 4; d++) dot += combined.vectors[i * 4 + d]! * combined.vectors[j * 4 + d]!;
        const mean = (Math.cos(IMAGE_ANGLES[i]! - IMAGE_ANGLES[j]!) + Math.cos(TEXT_ANGLES[i]! - TEXT_ANGLES[j]!)) / 2;
        expect(dot).toBeCloseTo(mean, 6);
      }
    }
  });

  it('without trained models: phash groups always, TF-IDF neighbours at or above tfidf.threshold', async () => {
    const { shopee, config } = await shopeeConfig({ 'tfidf.threshold': [0.99] });
    const extra = extraMatches(shopee, config, ITEMS);
    expect(extra.sources).toEqual(['tfidf']);
    // a–c: the same title (cosine 1); a–b: the same phash.
    expect(matchesOf(extra.merge(self, {}))).toEqual({ a: 'a b c', b: 'a b', c: 'a c', d: 'd' });
    // Above 1 no title matches; phash still does.
    expect(matchesOf(extra.merge(self, { 'tfidf.threshold': 1.01 }))).toEqual({ a: 'a b', b: 'a b', c: 'c', d: 'd' });
  });

  it('text-model and combined neighbours at or above their thresholds, united with the rest', async () => {
    const { shopee, config } = await shopeeConfig();
    const extra = extraMatches(shopee, config, ITEMS, EMBEDDINGS);
    expect(extra.sources).toEqual(['tfidf', 'text-model', 'combined']);
    // Without the trained models: what extraMatches builds without embeddings.
    const untrained = extra.withoutTrainedModels();
    expect(untrained.sources).toEqual(['tfidf']);
    expect(untrained.merge(self, { 'tfidf.threshold': 0.99 })).toEqual(extraMatches(shopee, config, ITEMS).merge(self, { 'tfidf.threshold': 0.99 }));
    const off = { 'tfidf.threshold': 1.01, 'text-model.threshold': 1.01, 'combined.threshold': 1.01 };
    for (const threshold of [0.5, 0.8, 0.95, 0.99]) {
      for (const source of ['text-model', 'combined'] as const) {
        const got = matchesOf(extra.merge(self, { ...off, [`${source}.threshold`]: threshold }));
        for (const [q, item] of ITEMS.entries()) {
          const expected = new Set([item.id, ...ITEMS.filter((other) => other.phash === item.phash).map((other) => other.id)]);
          ITEMS.forEach((other, g) => {
            const text = Math.cos(TEXT_ANGLES[q]! - TEXT_ANGLES[g]!);
            const similarity = source === 'text-model' ? text : (text + Math.cos(IMAGE_ANGLES[q]! - IMAGE_ANGLES[g]!)) / 2;
            if (similarity >= threshold + 1e-6) expected.add(other.id);
          });
          expect(got[item.id], `${source} ≥ ${threshold}, query ${item.id}`).toBe([...expected].sort().join(' '));
        }
      }
    }
  });

  it('an untuned source uses the first tune value, then 0.7; the model predictions come first', async () => {
    const { shopee, config } = await shopeeConfig({ 'text-model.threshold': [0.999] });
    const extra = extraMatches(shopee, { ...config, tune: { 'text-model.threshold': [0.999], 'tfidf.threshold': [1.01], 'combined.threshold': [1.01] } }, ITEMS, EMBEDDINGS);
    // Text cosine of a and d: cos(0.25) ≈ 0.969 < 0.999.
    expect(extra.merge([{ id: 'a', labels: ['a', 'd'] }], {})[0]!.labels).toEqual(['a', 'd', 'b']);
    const defaults = extraMatches(shopee, config, ITEMS, EMBEDDINGS);
    // tfidf and combined default to 0.7: a–c by title (1.0) and by the mean cosine ((cos 1.2 + cos 0.2) / 2 ≈ 0.67 < 0.7: no).
    expect(matchesOf(defaults.merge(self, {})).c).toBe('a c');
  });

  it('only match competitions get extra matches', async () => {
    const landmarks = await competition('landmarks');
    const extra = extraMatches(landmarks, landmarks.config, ITEMS, EMBEDDINGS);
    expect(extra.sources).toEqual([]);
    expect(extra.merge(self, {})).toEqual(self);
  });
});
