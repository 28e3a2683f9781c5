/**
 * What compressed and partitioned faiss indexes cost and lose against the exact one, on embedding-like vectors:
 * groups of near duplicates (a product's postings) around random directions. For each factory string: bytes per
 * vector (the written index file over the count), build and search seconds, recall@k against the exact search.
 * The figures behind docs/scale.md.
 *
 *   node dist/bench/ann-tradeoff.js [--gallery 200000] [--queries 2000] [--dim 64] [--k 50] [--lists 1024]
 *
 * faiss searches one IVF list per query (nprobe 1: VectorIndex does not set it), so the IVF rows are its floor.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '../core/random.js';
import { VectorIndex } from '../core/search/vector-index.js';
import { argument, machineLine, printTable, runBenchmark } from './harness.js';

/**
 * `count` unit vectors, each one of the `centres` plus roughly Gaussian noise of scale `noise`, normalised: with
 * unit centres and noise 0.085 in 64 dimensions, a cosine of about 0.95 to the centre; with one zero centre, random
 * directions.
 */
function groupedVectors(
  count: number,
  dim: number,
  centres: Float32Array,
  noise: number,
  random: Random,
): Float32Array {
  const groups = centres.length / dim;
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const centre = random.int(groups);
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const value = centres[centre * dim + j]! + (random.next() + random.next() + random.next() - 1.5) * noise;
      out[i * dim + j] = value;
      norm += value * value;
    }
    for (let j = 0; j < dim; j++) out[i * dim + j]! /= Math.sqrt(norm);
  }
  return out;
}

async function main(): Promise<void> {
  const gallery = Number(argument('gallery') ?? 200_000);
  const queries = Number(argument('queries') ?? 2_000);
  const dim = Number(argument('dim') ?? 64);
  const k = Number(argument('k') ?? 50);
  const lists = Number(argument('lists') ?? 1024);
  const factories = [
    'Flat',
    'SQ8',
    'HNSW32',
    ...['Flat', 'PQ32', 'PQ16', 'PQ8'].map((store) => `IVF${lists},${store}`),
  ];
  const random = new Random(11);
  const centres = groupedVectors(Math.round(gallery / 3), dim, new Float32Array(dim), 1, random);
  const base = groupedVectors(gallery, dim, centres, 0.085, random);
  const query = groupedVectors(queries, dim, centres, 0.085, random);
  const ids = Array.from({ length: gallery }, (_, i) => String(i));
  const dir = mkdtempSync(join(tmpdir(), 'simkit-ann-'));
  process.stdout.write(`${machineLine()}\n${gallery} × ${dim} vectors, ${queries} queries, k = ${k}\n`);
  const rows: string[][] = [];
  let truth: Set<number>[] = [];
  try {
    for (const factory of factories) {
      const started = performance.now();
      const index = VectorIndex.create(dim, factory);
      if (factory !== 'Flat' && factory !== 'HNSW32') index.train(base.subarray(0, Math.min(gallery, 50_000) * dim));
      index.add(ids, base);
      const built = (performance.now() - started) / 1000;
      const searchStart = performance.now();
      const result = index.search(query, k);
      const searched = (performance.now() - searchStart) / 1000;
      const found = Array.from({ length: queries }, (_, q) =>
        Array.from(result.indices.subarray(q * k, (q + 1) * k), Number),
      );
      if (factory === 'Flat') truth = found.map((row) => new Set(row));
      const hits = found.reduce((sum, row, q) => sum + row.filter((i) => truth[q]!.has(i)).length, 0);
      const file = join(dir, 'index');
      index.write(file);
      rows.push([
        factory,
        (statSync(file).size / gallery).toFixed(1),
        built.toFixed(1),
        ((1000 * searched) / queries).toFixed(3),
        (hits / (queries * k)).toFixed(4),
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(['factory', 'bytes/vector', 'build s', 'search ms/query', `recall@${k}`], rows);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runBenchmark(main);
