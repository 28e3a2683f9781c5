import { describe, expect, it } from 'vitest';
import { TfidfVectorizer, hashToken, normalizeText, sparseTopK, tokenize } from '../../core/data/text.js';

const DOCS = ['Botol Minum 500ml, ORIGINAL', 'botol minum murah', 'Kaos polos "grosir"', 'ＫＡＯＳ polos murah murah'];

describe('text', () => {
  it('normalises with NFKC and lower case, and tokenises words and character n-grams', () => {
    expect(normalizeText('ＫＡＯＳ  Ｐolos')).toBe('kaos polos');
    expect(tokenize('Botol, MINUM!')).toEqual(['botol', 'minum']);
    expect(tokenize('ab', [2, 3])).toEqual(['ab', ' a', 'ab', 'b ', ' ab', 'ab ']);
    expect(hashToken('botol', 1000)).toBe(hashToken('botol', 1000));
  });

  it('TF-IDF equals scikit-learn formulas recomputed in float64 (smooth idf, sublinear tf, L2 rows)', () => {
    const vectorizer = new TfidfVectorizer({ sublinearTf: true }).fit(DOCS);
    const rows = vectorizer.transform(DOCS);
    const tokenised = DOCS.map((d) => tokenize(d));
    const terms = [...new Set(tokenised.flat())].sort();
    expect(vectorizer.size).toBe(terms.length);
    tokenised.forEach((tokens, d) => {
      const weights = terms.map((term) => {
        const count = tokens.filter((t) => t === term).length;
        if (count === 0) return 0;
        const df = tokenised.filter((doc) => doc.includes(term)).length;
        return (1 + Math.log(count)) * (Math.log((1 + DOCS.length) / (1 + df)) + 1);
      });
      const norm = Math.sqrt(weights.reduce((s, w) => s + w * w, 0));
      const dense = new Array(terms.length).fill(0);
      rows[d]!.indices.forEach((index, i) => (dense[index] = rows[d]!.values[i]));
      weights.forEach((w, t) => expect(dense[t]).toBeCloseTo(w / norm, 6));
    });
  });

  it('sparse top-k equals a brute-force cosine ranking', () => {
    const rows = new TfidfVectorizer().fit(DOCS).transform(DOCS);
    const dot = (a: number, b: number) => {
      let s = 0;
      rows[a]!.indices.forEach((index, i) => {
        const j = Array.from(rows[b]!.indices).indexOf(index);
        if (j >= 0) s += rows[a]!.values[i]! * rows[b]!.values[j]!;
      });
      return s;
    };
    const result = sparseTopK(rows, rows, 2, 1e-9);
    result.forEach((row, q) => {
      const expected = DOCS.map((_, g) => g).filter((g) => dot(q, g) > 1e-9).sort((x, y) => dot(q, y) - dot(q, x) || x - y).slice(0, 2);
      expect(row.indices).toEqual(expected);
      row.similarities.forEach((s, r) => expect(s).toBeCloseTo(dot(q, row.indices[r]!), 6));
    });
    expect(result[0]!.indices[0]).toBe(0);
  });
});
