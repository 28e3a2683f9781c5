import { describe, expect, it } from 'vitest';
import { fnv1a32, hashToken } from '../../../core/data/hashing.js';
import { csrFromRows, sparseTopK, type CsrMatrix, type SparseRow } from '../../../core/data/sparse.js';
import {
  analyze,
  charNgrams,
  charWbNgrams,
  normalizeText,
  wordNgrams,
  wordTokens,
} from '../../../core/data/text-analysis.js';
import { TfidfVectorizer, type TfidfOptions } from '../../../core/data/tfidf.js';
import { Random } from '../../../core/random.js';

/** Row `row` of a CSR matrix. */
function csrRow(matrix: CsrMatrix, row: number): SparseRow {
  const start = matrix.indptr[row]!;
  const end = matrix.indptr[row + 1]!;
  return { indices: matrix.indices.subarray(start, end), values: matrix.values.subarray(start, end) };
}

const TITLES = [
  'Botol Minum 500ml, ORIGINAL',
  'botol minum murah',
  'Kaos polos "grosir"',
  'ＫＡＯＳ polos murah murah',
  'Sepatu anak perempuan – ukuran 30',
  'Ｔｕｍｂｌｅｒ ﬁlter kopi ①',
];

function dense(matrix: CsrMatrix): number[][] {
  return Array.from({ length: matrix.rows }, (_, r) => {
    const row = new Array<number>(matrix.cols).fill(0);
    const { indices, values } = csrRow(matrix, r);
    indices.forEach((c, i) => (row[c] = values[i]!));
    return row;
  });
}

/** scikit-learn's TfidfVectorizer, recomputed in float64 from its documented formulas over analyze(). */
function referenceTfidf(documents: readonly string[], options: TfidfOptions): { terms: string[]; rows: number[][] } {
  const analysed = documents.map((d) => analyze(d, options));
  const terms = [...new Set(analysed.flat())].sort();
  const n = documents.length;
  const rows = analysed.map((tokens) => {
    const weights = terms.map((term) => {
      let tf = tokens.filter((t) => t === term).length;
      if (tf === 0) return 0;
      if (options.binary) tf = 1;
      if (options.sublinearTf) tf = 1 + Math.log(tf);
      const df = analysed.filter((doc) => doc.includes(term)).length;
      const idf = options.smoothIdf === false ? Math.log(n / df) + 1 : Math.log((1 + n) / (1 + df)) + 1;
      return tf * idf;
    });
    const norm = Math.sqrt(weights.reduce((s, w) => s + w * w, 0)) || 1;
    return weights.map((w) => w / norm);
  });
  return { terms, rows };
}

describe('normalisation and tokens', () => {
  it('applies NFKC and lower case', () => {
    expect(normalizeText('ＫＡＯＳ Ｐolos')).toBe('kaos polos'); // full-width letters
    expect(normalizeText('ﬁlter')).toBe('filter'); // ligature
    expect(normalizeText('①２³')).toBe('123'); // circled, full-width and superscript digits
    expect(normalizeText('Café', false)).toBe('Café');
    expect(normalizeText('Cafe\u0301')).toBe('café'); // combining accent composed
    expect(normalizeText('ＫＡＯＳ', false)).toBe('KAOS');
  });

  it('splits words like scikit-learn (two or more word characters, any script)', () => {
    expect(wordTokens('botol, minum! a 500ml x_y ukuran–30 日本語')).toEqual([
      'botol',
      'minum',
      '500ml',
      'x_y',
      'ukuran',
      '30',
      '日本語',
    ]);
  });

  it('builds word and character n-grams as scikit-learn does', () => {
    expect(wordNgrams(['a1', 'b2', 'c3'], [1, 2])).toEqual(['a1', 'b2', 'c3', 'a1 b2', 'b2 c3']);
    expect(wordNgrams(['a1', 'b2'], [2, 3])).toEqual(['a1 b2']);
    expect(charNgrams('ab  c', [2, 3])).toEqual(['ab', 'b ', ' c', 'ab ', 'b c']);
    expect(charNgrams('ab', [1, 3])).toEqual(['a', 'b', 'ab']);
    // 'char_wb': ' ab ' gives ' a', 'ab', 'b ', then ' ab', 'ab '; the short word ' c ' is counted once for n ≥ 3.
    expect(charWbNgrams('ab c', [2, 4])).toEqual([' a', 'ab', 'b ', ' ab', 'ab ', ' ab ', ' c', 'c ', ' c ']);
    expect(charNgrams('日本', [1, 1])).toEqual(['日', '本']);
    expect(charNgrams('😀x', [2, 2])).toEqual(['😀x']); // code points, not UTF-16 units
    expect(analyze('The Botol', { stopWords: ['the'], ngramRange: [1, 2] })).toEqual(['botol']);
  });

  it('hashes UTF-8 bytes with FNV-1a 32', () => {
    // Published FNV-1a 32 test vectors.
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // UTF-8 bytes, computed from the definition.
    const bytes = Buffer.from('é😀', 'utf8');
    let h = 0x811c9dc5;
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(fnv1a32('é😀')).toBe(h);
    expect(hashToken('foobar', 1000)).toBe(0xbf9cf968 % 1000);
  });
});

describe('TfidfVectorizer', () => {
  it("reproduces scikit-learn's user-guide values (smooth idf on and off)", () => {
    // Term counts [[3,0,1],[2,0,0],[3,0,0],[4,0,0],[3,2,0],[3,0,2]] over the terms aa, bb, cc.
    const counts = [
      [3, 0, 1],
      [2, 0, 0],
      [3, 0, 0],
      [4, 0, 0],
      [3, 2, 0],
      [3, 0, 2],
    ];
    const docs = counts.map((c) => ['aa', 'bb', 'cc'].flatMap((term, t) => Array<string>(c[t]!).fill(term)).join(' '));
    const raw = dense(new TfidfVectorizer({ smoothIdf: false }).fitTransform(docs));
    [
      [0.81940995, 0, 0.57320793],
      [1, 0, 0],
      [1, 0, 0],
      [1, 0, 0],
      [0.47330339, 0.88089948, 0],
      [0.58149261, 0, 0.81355169],
    ].forEach((row, r) => row.forEach((v, c) => expect(raw[r]![c]).toBeCloseTo(v, 6)));
    const smooth = dense(new TfidfVectorizer().fitTransform(docs));
    [
      [0.85151335, 0, 0.52433293],
      [1, 0, 0],
      [1, 0, 0],
      [1, 0, 0],
      [0.55422893, 0.83236428, 0],
      [0.63035731, 0, 0.77630514],
    ].forEach((row, r) => row.forEach((v, c) => expect(smooth[r]![c]).toBeCloseTo(v, 6)));
  });

  const variants: TfidfOptions[] = [
    {},
    { sublinearTf: true },
    { smoothIdf: false, binary: true },
    { analyzer: 'char_wb', ngramRange: [2, 4], sublinearTf: true },
    { analyzer: 'char', ngramRange: [3, 3] },
    { ngramRange: [1, 2], lowercase: false },
  ];
  for (const options of variants) {
    it(`matches a float64 recomputation of scikit-learn's formulas for ${JSON.stringify(options)}`, () => {
      const vectorizer = new TfidfVectorizer(options).fit(TITLES);
      const matrix = vectorizer.transform(TITLES);
      const reference = referenceTfidf(TITLES, options);
      expect(vectorizer.cols).toBe(reference.terms.length);
      expect(matrix.rows).toBe(TITLES.length);
      reference.terms.forEach((term, c) => expect(vectorizer.column(term)).toBe(c));
      const actual = dense(matrix);
      reference.rows.forEach((row, r) => row.forEach((v, c) => expect(actual[r]![c]).toBeCloseTo(v, 6)));
      for (let r = 0; r < matrix.rows; r++) {
        const { indices } = csrRow(matrix, r);
        for (let i = 1; i < indices.length; i++) expect(indices[i]).toBeGreaterThan(indices[i - 1]!);
      }
    });
  }

  it('drops terms by document frequency and keeps the most frequent ones', () => {
    const docs = ['aa bb cc', 'aa bb', 'aa dd dd dd', 'aa ee'];
    expect(new TfidfVectorizer({ minDf: 2 }).fit(docs).column('cc')).toBeUndefined();
    expect(new TfidfVectorizer({ minDf: 2 }).fit(docs).cols).toBe(2);
    expect(new TfidfVectorizer({ maxDf: 0.9 }).fit(docs).column('aa')).toBeUndefined();
    const top = new TfidfVectorizer({ maxFeatures: 2 }).fit(docs);
    expect([top.column('aa'), top.column('dd')]).toEqual([0, 1]);
    expect(top.column('bb')).toBeUndefined();
  });

  it('ignores unseen terms and leaves an empty row at zero', () => {
    const vectorizer = new TfidfVectorizer().fit(['botol minum']);
    const matrix = vectorizer.transform(['sepatu', 'botol sepatu']);
    expect(Array.from(matrix.indptr)).toEqual([0, 0, 1]);
    expect(matrix.values[0]).toBeCloseTo(1, 6);
  });

  it('hashes terms into buckets: the same weights as a vocabulary when nothing collides', () => {
    const hashed = new TfidfVectorizer({ buckets: 1 << 20, sublinearTf: true }).fit(TITLES);
    const plain = new TfidfVectorizer({ sublinearTf: true }).fit(TITLES);
    expect(hashed.cols).toBe(1 << 20);
    const a = hashed.transform(TITLES);
    const b = plain.transform(TITLES);
    for (let r = 0; r < TITLES.length; r++) {
      const ha = csrRow(a, r);
      const pb = csrRow(b, r);
      expect(ha.indices.length).toBe(pb.indices.length);
      const byBucket = new Map(Array.from(ha.indices, (c, i) => [c, ha.values[i]!]));
      const terms = [...new Set(analyze(TITLES[r]!))];
      for (const term of terms)
        expect(byBucket.get(hashToken(term, 1 << 20))).toBeCloseTo(
          pb.values[Array.from(pb.indices).indexOf(plain.column(term)!)]!,
          6,
        );
    }
  });
});

describe('sparseTopK', () => {
  function bruteForce(q: number[][], g: number[][], k: number, min: number) {
    return q.map((row) => {
      const scores = g.map((other) => other.reduce((s, v, c) => s + v * row[c]!, 0));
      const shared = g.map((other) => other.some((v, c) => v !== 0 && row[c] !== 0));
      const order = scores.map((_, i) => i).filter((i) => shared[i] && scores[i]! >= min);
      order.sort((a, b) => scores[b]! - scores[a]! || a - b);
      return { indices: order.slice(0, k), similarities: order.slice(0, k).map((i) => scores[i]!) };
    });
  }

  it('equals a brute-force cosine ranking on TF-IDF rows', () => {
    const random = new Random(4);
    const words = ['botol', 'minum', 'kaos', 'polos', 'murah', 'sepatu', 'anak', 'tas', 'wanita', 'original'];
    const docs = Array.from({ length: 60 }, () =>
      Array.from({ length: 1 + random.int(4) }, () => words[random.int(words.length)]).join(' '),
    );
    const matrix = new TfidfVectorizer().fitTransform(docs);
    const rows = dense(matrix);
    for (const [k, min] of [
      [5, 0],
      [3, 0.5],
      [100, 0.2],
    ] as const) {
      const expected = bruteForce(rows, rows, k, min);
      const actual = sparseTopK(matrix, matrix, k, min);
      actual.forEach((row, q) => {
        expect(row.indices).toEqual(expected[q]!.indices);
        row.similarities.forEach((s, i) => expect(s).toBeCloseTo(expected[q]!.similarities[i]!, 5));
      });
    }
  });

  it('accepts rows as a list and ranks ties by index', () => {
    const one = { indices: Int32Array.of(2), values: Float32Array.of(1) };
    const result = sparseTopK([one], [one, { indices: Int32Array.of(0), values: Float32Array.of(1) }, one, one], 2);
    expect(result).toEqual([{ indices: [0, 2], similarities: [1, 1] }]);
    const csr = csrFromRows([one]);
    expect([csr.rows, csr.cols, Array.from(csr.indptr)]).toEqual([1, 3, [0, 1]]);
    expect(sparseTopK(csr, csr, 0)).toEqual([{ indices: [], similarities: [] }]);
  });
});
