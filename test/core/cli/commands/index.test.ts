import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../../core/cli/main.js';
import { Simkit } from '../../../../core/di/container.js';
import { initEngine } from '../../../../core/engine/backend.js';
import { mergeEmbeddingFiles, readEmbeddings } from '../../../../core/search/embeddings-file.js';
import { evaluateEmbeddings } from '../../../../core/search/evaluate.js';
import { readLabels, VALIDATION_FILES } from '../../../../core/search/labelled-embeddings.js';
import { runCompetition } from '../../../../core/pipeline/run.js';
import { simkitInProcess } from '../in-process.js';

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

  it("simkit evaluate --run: the run's saved validation, printed and added to its report", async () => {
    const runDir = join(out, 'run');
    const result = await simkitInProcess(['evaluate', '--run', runDir, '--k', '1,5', '--fmr', '0.01'], { cwd: root });
    expect(result.code, result.stderr).toBe(0);
    for (const name of ['CMC@1', 'CMC@5', 'precision@5', 'MAP@R', 'mAP@5', 'FNMR@FMR=0.01'])
      expect(result.stdout).toContain(name);
    // The same numbers as the files evaluated directly; queries search the training gallery (hotels: an item split).
    const labels = await readLabels(join(runDir, VALIDATION_FILES.labels));
    const load = (file: string) => {
      const { header, ids, vectors } = readEmbeddings(join(runDir, file));
      return { dim: header.dim, set: { ids, vectors, labels: ids.map((id) => labels.get(id)!) } };
    };
    const [queries, gallery] = [load(VALIDATION_FILES.queries), load(VALIDATION_FILES.gallery)];
    const expected = evaluateEmbeddings(queries.set, gallery.set, queries.dim, {
      cutoffs: [1, 5],
      falseMatchRates: [0.01],
    });
    expect(expected.retrieval.queries).toBeGreaterThan(10);
    const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as { summary: Record<string, number> };
    expect(report.summary['validation CMC@1']).toBeCloseTo(expected.retrieval.recallAt[1]!, 12);
    expect(report.summary['validation MAP@R']).toBeCloseTo(expected.retrieval.mapAtR, 12);
    expect(report.summary).toHaveProperty(['validation (trained + tuned)']); // the run's own summary is kept
    expect(result.stdout).toContain(`CMC@1            ${expected.retrieval.recallAt[1]!.toFixed(4)}`);
    expect(readFileSync(join(runDir, 'report.html'), 'utf8')).toContain('validation CMC@1');

    const json = await simkitInProcess(
      [
        'evaluate',
        '--embeddings',
        join(runDir, VALIDATION_FILES.queries),
        '--labels',
        join(runDir, VALIDATION_FILES.labels),
        '--gallery',
        join(runDir, VALIDATION_FILES.gallery),
        '--json',
      ],
      { cwd: root },
    );
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as Record<string, number>)['MAP@R']).toBeCloseTo(expected.retrieval.mapAtR, 12);
  });

  it('simkit evaluate refuses bad input before any work: no source, a missing label row, a bad list', async () => {
    const runDir = join(out, 'run');
    const queries = join(runDir, VALIDATION_FILES.queries);
    // The output directory (as `simkit embed --run` takes it) works too.
    expect((await simkitInProcess(['evaluate', '--run', out, '--json'], { cwd: root })).code).toBe(0);
    expect((await simkitInProcess(['evaluate'], { cwd: root })).code).toBe(2);
    expect((await simkitInProcess(['evaluate', '--embeddings', queries], { cwd: root })).code).toBe(2);
    expect((await simkitInProcess(['evaluate', '--run', root], { cwd: root })).stderr).toContain(
      VALIDATION_FILES.queries,
    );
    expect((await simkitInProcess(['evaluate', '--run', runDir, '--k', '0,5'], { cwd: root })).code).toBe(2);
    const partial = join(root, 'partial-labels.csv');
    writeFileSync(partial, 'id,label\nnot-an-item,a\n');
    const missing = await simkitInProcess(['evaluate', '--embeddings', queries, '--labels', partial], { cwd: root });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('partial-labels.csv');
    expect(missing.stderr).toMatch(/no row for id/);
  });
});
