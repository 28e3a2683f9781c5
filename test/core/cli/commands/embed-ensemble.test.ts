import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../../core/cli/main.js';
import { Simkit } from '../../../../core/di/container.js';
import { initEngine } from '../../../../core/engine/backend.js';
import { runCompetition } from '../../../../core/pipeline/run.js';
import { readEmbeddings } from '../../../../core/search/embeddings-file.js';
import { VALIDATION_FILES } from '../../../../core/search/labelled-embeddings.js';
import { simkitInProcess } from '../in-process.js';

/** Each file's rows by id. */
function rowsById(path: string): Map<string, Float32Array> {
  const { header, ids, vectors } = readEmbeddings(path);
  return new Map(ids.map((id, row) => [id, vectors.subarray(row * header.dim, (row + 1) * header.dim)]));
}

describe('simkit embed of a run that searched an ensemble', () => {
  const root = mkdtempSync(join(tmpdir(), 'simkit-embed-ensemble-'));
  const out = join(root, 'shopee');
  const file = (name: string) => join(root, name);

  beforeAll(async () => {
    await initEngine('native');
    // One epoch, nothing tuned: the image and text models searched as one index, text at half weight.
    await runCompetition(await Simkit.create(), {
      competition: 'shopee',
      out,
      leaderboard: join(root, 'lb.sqlite'),
      epochs: 1,
      overrides: { search: 'ensemble', ensemble: { models: { image: 1, text: 0.5 }, pca: null }, tune: {} },
    });
  }, 300_000);

  it('embeds with the ensemble: the vectors the run searched, its members’ weighted and normalised', async () => {
    for (const [name, extra] of [
      ['ensemble.emb', []],
      ['image.emb', ['--model', 'image']],
      ['text.emb', ['--model', 'text']],
    ] as const)
      expect(await main(['embed', 'shopee', '--run', out, '--set', 'train', '--out', file(name), ...extra])).toBe(0);
    const ensemble = rowsById(file('ensemble.emb'));
    const image = rowsById(file('image.emb'));
    const text = rowsById(file('text.emb'));
    expect(readEmbeddings(file('ensemble.emb')).header.dim).toBe(128);
    // Against a float64 loop over the members' own files.
    for (const [id, row] of ensemble) {
      const joined = [...Array.from(image.get(id)!), ...Array.from(text.get(id)!, (value) => 0.5 * value)];
      const norm = Math.sqrt(joined.reduce((sum, value) => sum + value * value, 0));
      joined.forEach((value, j) => expect(row[j]).toBeCloseTo(value / norm, 5));
    }
    // The run's own validation queries, as it searched them.
    const searched = rowsById(join(out, 'run', VALIDATION_FILES.queries));
    expect(searched.size).toBeGreaterThan(0);
    for (const [id, row] of searched)
      Array.from(row).forEach((value, j) => expect(ensemble.get(id)![j]).toBeCloseTo(value, 5));
  }, 120_000);

  it('refuses an ensemble the run PCA-reduced, naming the file and its models, and writes nothing', async () => {
    const reduced = join(root, 'reduced');
    mkdirSync(reduced);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { ensemble: { pca: unknown } };
    config.ensemble.pca = { dimension: 16, whiten: false };
    writeFileSync(join(reduced, 'config.json'), JSON.stringify(config));
    const result = await simkitInProcess(
      ['embed', 'shopee', '--run', reduced, '--data', join(out, 'sample'), '--out', file('reduced.emb')],
      { cwd: root },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/reduced\/config\.json: the run searched an ensemble PCA-reduced to 16 dimensions/);
    expect(result.stderr).toMatch(/--model image\|text/);
    expect(existsSync(file('reduced.emb'))).toBe(false);
  });
});
