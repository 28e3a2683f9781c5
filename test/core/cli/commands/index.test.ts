import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../../core/cli/main.js';
import { Simkit } from '../../../../core/di/container.js';
import { initEngine } from '../../../../core/engine/backend.js';
import { mergeEmbeddingFiles, readEmbeddings } from '../../../../core/search/embeddings-file.js';
import { runCompetition } from '../../../../core/pipeline/run.js';

describe('simkit embed → index → search', () => {
  const root = mkdtempSync(join(tmpdir(), 'simkit-knn-cli-'));
  const out = join(root, 'hotels');

  beforeAll(async () => {
    await initEngine('native');
    await runCompetition(await Simkit.create(), {
      competition: 'hotels',
      out,
      leaderboard: join(root, 'lb.sqlite'),
      epochs: 1,
    });
  });

  it('embeds in shards that merge into the whole set, and searches it exactly', async () => {
    const file = (name: string) => join(root, name);
    expect(await main(['embed', 'hotels', '--run', out, '--set', 'train', '--out', file('all.emb')])).toBe(0);
    expect(
      await main(['embed', 'hotels', '--run', out, '--set', 'train', '--shard', '0/2', '--out', file('s0.emb')]),
    ).toBe(0);
    expect(
      await main(['embed', 'hotels', '--run', out, '--set', 'train', '--shard', '1/2', '--out', file('s1.emb')]),
    ).toBe(0);
    mergeEmbeddingFiles([file('s0.emb'), file('s1.emb')], file('merged.emb'));
    const all = readEmbeddings(file('all.emb'));
    const merged = readEmbeddings(file('merged.emb'));
    expect(new Set(merged.ids)).toEqual(new Set(all.ids));
    expect(all.header.count).toBeGreaterThan(50);

    expect(await main(['index', '--embeddings', file('all.emb'), '--out', file('train.index')])).toBe(0);
    expect(
      await main([
        'search',
        '--index',
        file('train.index'),
        '--queries',
        file('all.emb'),
        '--k',
        '3',
        '--exclude-self',
        '--out',
        file('neighbours.csv'),
      ]),
    ).toBe(0);
    const rows = parse<{ query_id: string; neighbours: string; similarities: string }>(
      readFileSync(file('neighbours.csv')),
      { columns: true },
    );
    expect(rows.length).toBe(all.ids.length);
    const dim = all.header.dim;
    const dot = (a: number, b: number) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += all.vectors[a * dim + j]! * all.vectors[b * dim + j]!;
      return s;
    };
    for (const q of [0, 7, 31]) {
      const expected = all.ids
        .map((_, g) => g)
        .filter((g) => g !== q)
        .sort((a, b) => dot(q, b) - dot(q, a))
        .slice(0, 3);
      const row = rows[q]!;
      expect(row.query_id).toBe(all.ids[q]);
      row.similarities.split(' ').forEach((s, r) => expect(Number(s)).toBeCloseTo(dot(q, expected[r]!), 4));
    }
  });

  it('refuses bad input with a clear message and exit code 2', async () => {
    expect(await main(['embed', 'hotels', '--run', join(root, 'missing'), '--out', join(root, 'x.emb')])).toBe(2);
    expect(await main(['embed', 'hotels', '--run', out, '--set', 'nope', '--out', join(root, 'x.emb')])).toBe(2);
    expect(
      await main([
        'search',
        '--index',
        join(root, 'none.index'),
        '--queries',
        join(root, 'x.emb'),
        '--out',
        join(root, 'y.csv'),
      ]),
    ).not.toBe(0);
  });
});
