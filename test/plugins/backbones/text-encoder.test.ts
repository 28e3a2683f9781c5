import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashedTokenBatch, hashedTokenIds } from '../../../core/data/token-ids.js';
import { initEngine } from '../../../core/engine/backend.js';
import { EmbeddingBag } from '../../../core/models/layers.js';
import { textEncoder, TEXT_ENCODER_DEFAULTS } from '../../../plugins/backbones/text-encoder.js';
import { floats, roundTrip, trainSteps } from '../../core/models/helpers.js';

/** FNV-1a 32 with BigInt arithmetic on UTF-8 bytes: an implementation independent of fnv1a32. */
function fnv64ref(text: string): number {
  let hash = 0x811c9dc5n;
  for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * 0x01000193n) % 2n ** 32n;
  return Number(hash);
}

describe('hashedTokenIds', () => {
  // Published FNV-1a 32 test vectors: "fo" 0x6222e842, "foo" 0xa9f37ed7, "foobar" 0xbf9cf968.
  it('hashes word unigrams and bigrams by position into 1..buckets, padded with 0', () => {
    const ids = hashedTokenIds('Foo  FOOBAR!', { buckets: 1000, maxTokens: 6 });
    // terms: foo, "foo foobar", foobar
    expect(0xa9f37ed7 % 1000).toBe(223);
    expect(0xbf9cf968 % 1000).toBe(720);
    expect(Array.from(ids)).toEqual([224, (fnv64ref('foo foobar') % 1000) + 1, 721, 0, 0, 0]);
  });

  it('truncates to maxTokens, keeping the beginning of the text', () => {
    expect(Array.from(hashedTokenIds('foo foobar', { buckets: 1000, maxTokens: 2 }))).toEqual([
      224,
      (fnv64ref('foo foobar') % 1000) + 1,
    ]);
    expect(Array.from(hashedTokenIds('foo foobar', { buckets: 1000, maxTokens: 0 }))).toEqual([]);
  });

  it('adds char_wb n-grams after the words; either kind may be left out', () => {
    const ids = hashedTokenIds('fo', { buckets: 2 ** 31, maxTokens: 5, ngrams: { words: [1, 1], chars: [2, 2] } });
    // words: fo; chars of " fo ": " f", "fo", "o "
    expect(Array.from(ids)).toEqual([
      (0x6222e842 % 2 ** 31) + 1,
      (fnv64ref(' f') % 2 ** 31) + 1,
      (0x6222e842 % 2 ** 31) + 1,
      (fnv64ref('o ') % 2 ** 31) + 1,
      0,
    ]);
    const charsOnly = hashedTokenIds('fo', { buckets: 10, maxTokens: 3, ngrams: { words: null, chars: [2, 2] } });
    expect(Array.from(charsOnly)).toEqual([
      (fnv64ref(' f') % 10) + 1,
      (0x6222e842 % 10) + 1,
      (fnv64ref('o ') % 10) + 1,
    ]);
  });

  it('normalises (NFKC, lower case); empty text is all padding; a batch is the rows one after another', () => {
    expect(Array.from(hashedTokenIds('ＦＯＯ', { buckets: 1000, maxTokens: 1 }))).toEqual([224]);
    expect(Array.from(hashedTokenIds('', { buckets: 1000, maxTokens: 3 }))).toEqual([0, 0, 0]);
    expect(Array.from(hashedTokenBatch(['foo', 'foobar'], { buckets: 1000, maxTokens: 2 }))).toEqual([224, 0, 721, 0]);
    expect(() => hashedTokenIds('x', { buckets: 0, maxTokens: 2 })).toThrow(/buckets/);
  });
});

describe('embedding bag and text-encoder backbone', () => {
  beforeAll(async () => {
    await initEngine('native');
  });
  const table = floats(6 * 3, 21); // 6 rows (row 0 = padding) × 3
  const ids = [
    [1, 3, 3, 0, 0],
    [0, 0, 0, 0, 0],
    [5, 2, 4, 1, 2],
  ];

  function bag64(): number[][] {
    return ids.map((row) => {
      const kept = row.filter((id) => id !== 0);
      return [0, 1, 2].map((d) => (kept.length ? kept.reduce((s, id) => s + table[id * 3 + d]!, 0) / kept.length : 0));
    });
  }

  function bagLayer(): EmbeddingBag {
    const layer = new EmbeddingBag({ inputDim: 6, outputDim: 3 });
    layer.build([null, 5]);
    layer.setWeights([tf.tensor2d(table, [6, 3])]);
    return layer;
  }

  it('is the mean of the non-padding embeddings (a padding-only row is zero), like a float64 loop', () => {
    const layer = bagLayer();
    const y = layer.apply(tf.tensor2d(ids, [3, 5], 'int32')) as tf.Tensor;
    const expected = bag64().flat();
    Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    // Float ids and B×1×T×1 inputs give the same.
    const y4 = layer.apply(tf.tensor4d(ids.flat(), [3, 1, 5, 1], 'float32')) as tf.Tensor;
    expect(Array.from(y4.dataSync())).toEqual(Array.from(y.dataSync()));
    tf.dispose([y, y4]);
  });

  it('gradients reach exactly the rows used, weighted by count / row length; padding row gets none', () => {
    const layer = bagLayer();
    const x = tf.tensor2d(ids, [3, 5], 'int32');
    const variable = layer.trainableWeights[0]!.read() as tf.Variable;
    const { grads, value } = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, [variable]);
    const g = Array.from(grads[variable.name]!.dataSync());
    // d/dE[id][d] of Σ outputs = Σ_rows count(id in row) / nonPadding(row)
    const expected = [0, 1 / 3 + 1 / 5, 2 / 5, 2 / 3, 1 / 5, 1 / 5];
    expected.forEach((w, id) => [0, 1, 2].forEach((d) => expect(g[id * 3 + d]).toBeCloseTo(w, 6)));
    tf.dispose([x, value, ...Object.values(grads)]);
  });

  it('text-encoder: int32 B × maxTokens in, B × embeddingDim out; memory steady over 20 steps; trains; save/load identical', async () => {
    const options = { buckets: 512, maxTokens: 12 };
    const texts = [
      'red cotton shirt',
      'blue cotton shirt',
      'steel kitchen knife',
      'kitchen knife set',
      'red shirt',
      'chef knife',
    ];
    const x = tf.tensor2d(hashedTokenBatch(texts, options), [texts.length, options.maxTokens], 'int32');
    const model = textEncoder({ ...TEXT_ENCODER_DEFAULTS, buckets: 512, tokenDim: 16, hidden: [12], prelu: true })(
      { height: 1, width: 12, channels: 1 },
      8,
      3,
    );
    expect(model.inputs[0]!.dtype).toBe('int32');
    expect(model.outputs[0]!.shape).toEqual([null, 8]);
    const table = () =>
      model.layers
        .find((l) => l instanceof EmbeddingBag)!
        .getWeights()[0]!
        .dataSync()
        .slice();
    const before = table();
    const counts = trainSteps(model, x, 20);
    expect(new Set(counts.slice(1)).size).toBe(1);
    const after = table();
    const used = new Set(Array.from(x.dataSync()).filter((id) => id > 0));
    expect(after.slice(0, 16)).toEqual(before.slice(0, 16)); // the padding row never changes
    const [firstUsed] = [...used];
    expect(after.slice(firstUsed! * 16, firstUsed! * 16 + 16)).not.toEqual(
      before.slice(firstUsed! * 16, firstUsed! * 16 + 16),
    );
    const { before: out, after: back, loaded } = await roundTrip(model, x);
    expect(Array.from(back)).toEqual(Array.from(out));
    expect(loaded.layers.some((l) => l instanceof EmbeddingBag)).toBe(true);
    x.dispose();
    model.dispose();
    loaded.dispose();
  });

  it('rejects an image-shaped input', () => {
    expect(() => textEncoder(TEXT_ENCODER_DEFAULTS)({ height: 8, width: 8, channels: 3 }, 8, 1)).toThrow(
      /height: 1, width: maxTokens/,
    );
  });
});
