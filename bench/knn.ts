/**
 * Exact search of 10,000 queries over 200,000 × 256 L2-normalised vectors, k = 50: the project's
 * path (core/index VectorIndex over faiss-node), next to Debian's python3-faiss on the same data
 * (when /usr/bin/python3 has faiss) and a brute-force matMul + topk in TF.js (wasm, on a subset of
 * the queries, scaled up). Prints time, peak memory, recall@50 and ratios.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../core/engine/backend.js';
import { VectorIndex } from '../core/search/vector-index.js';
import { Random } from '../core/random.js';

const GALLERY = Number(process.env.KNN_GALLERY ?? 200_000);
const QUERIES = Number(process.env.KNN_QUERIES ?? 10_000);
const TFJS_QUERIES = Number(process.env.KNN_TFJS_QUERIES ?? 500);
const DIM = 256;
const K = 50;
const HERE = dirname(fileURLToPath(import.meta.url));
// Beside this file when run from source; two levels up (dist/bench → bench) when compiled.
const REFERENCE = [join(HERE, 'knn_reference.py'), resolve(HERE, '..', '..', 'bench', 'knn_reference.py')].find(
  existsSync,
)!;

function unitVectors(count: number, random: Random): Float32Array {
  const out = new Float32Array(count * DIM);
  for (let i = 0; i < count; i++) {
    let norm = 0;
    for (let j = 0; j < DIM; j++) {
      // Sum of uniforms: roughly Gaussian, enough for directions spread over the sphere.
      const value = random.next() + random.next() + random.next() - 1.5;
      out[i * DIM + j] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < DIM; j++) out[i * DIM + j]! /= norm;
  }
  return out;
}

function peakRssMb(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : process.memoryUsage().rss / 1e6;
}

function recall(
  found: Int32Array | BigInt64Array | number[],
  truth: ArrayLike<number | bigint>,
  queries: number,
): number {
  let hits = 0;
  for (let q = 0; q < queries; q++) {
    const expected = new Set(Array.from({ length: K }, (_, r) => Number(truth[q * K + r]!)));
    for (let r = 0; r < K; r++) if (expected.has(Number(found[q * K + r]!))) hits += 1;
  }
  return hits / (queries * K);
}

async function main(): Promise<void> {
  const random = new Random(5);
  const gallery = unitVectors(GALLERY, random);
  const queries = unitVectors(QUERIES, random);
  const ids = Array.from({ length: GALLERY }, (_, i) => String(i));

  let started = performance.now();
  const index = VectorIndex.create(DIM);
  index.add(ids, gallery);
  const result = index.search(queries, K);
  const projectSeconds = (performance.now() - started) / 1000;
  const projectPeak = peakRssMb();

  const dir = mkdtempSync(join(tmpdir(), 'simkit-bench-knn-'));
  let reference: { seconds: number; peak_mb: number; faiss: string } | undefined;
  let referenceLabels: BigInt64Array | undefined;
  try {
    writeFileSync(join(dir, 'gallery.f32'), gallery);
    writeFileSync(join(dir, 'queries.f32'), queries);
    const output = execFileSync(
      '/usr/bin/python3',
      [REFERENCE, join(dir, 'gallery.f32'), join(dir, 'queries.f32'), String(DIM), String(K), join(dir, 'labels.i64')],
      { encoding: 'utf8' },
    );
    reference = JSON.parse(output.trim().split('\n').at(-1)!) as typeof reference;
    const bytes = readFileSync(join(dir, 'labels.i64'));
    referenceLabels = new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  } catch (error) {
    console.log(
      `python3-faiss reference not available (${(error as Error).message.split('\n')[0]}); install Debian's python3-faiss`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  await initEngine('wasm');
  started = performance.now();
  const galleryTensor = tf.tensor2d(gallery, [GALLERY, DIM]);
  const tfjsIndices: number[] = [];
  for (let start = 0; start < TFJS_QUERIES; start += 50) {
    const count = Math.min(50, TFJS_QUERIES - start);
    const top = tf.tidy(
      () =>
        tf.topk(
          tf.matMul(
            tf.tensor2d(queries.subarray(start * DIM, (start + count) * DIM), [count, DIM]),
            galleryTensor,
            false,
            true,
          ),
          K,
        ).indices,
    );
    tfjsIndices.push(...(top.dataSync() as Int32Array));
    top.dispose();
  }
  galleryTensor.dispose();
  const tfjsSeconds = ((performance.now() - started) / 1000) * (QUERIES / TFJS_QUERIES);

  const projectRecall = referenceLabels ? recall(result.indices, referenceLabels, QUERIES) : null;
  const tfjsRecall = recall(tfjsIndices, result.indices, TFJS_QUERIES);
  console.log(`exact kNN: ${QUERIES.toLocaleString()} queries over ${GALLERY.toLocaleString()} × ${DIM}, k = ${K}`);
  console.log(
    `${'route'.padEnd(44)} ${'seconds'.padStart(8)} ${'peak MB'.padStart(8)} ${'recall@50'.padStart(10)} ${'time ratio'.padStart(11)}`,
  );
  const line = (name: string, seconds: number, peak: number | null, r: number | null) =>
    console.log(
      `${name.padEnd(44)} ${seconds.toFixed(2).padStart(8)} ${(peak === null ? '—' : peak.toFixed(0)).padStart(8)} ` +
        `${(r === null ? '—' : r.toFixed(4)).padStart(10)} ${(reference ? (seconds / reference.seconds).toFixed(2) : '—').padStart(11)}`,
    );
  line('simkit (faiss-node IndexFlatIP)', projectSeconds, projectPeak, projectRecall);
  if (reference) line(`python3-faiss ${reference.faiss} (reference)`, reference.seconds, reference.peak_mb, 1);
  line(`TF.js wasm matMul + topk (${TFJS_QUERIES} queries, scaled)`, tfjsSeconds, null, tfjsRecall);
  if (reference)
    console.log(`simkit / python3-faiss time: ${(projectSeconds / reference.seconds).toFixed(2)} (target ≤ 1.25)`);
}

await main();
