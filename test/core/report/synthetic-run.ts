// A run directory with every input of the report, built from simple known values.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { REPORT_DATA_FORMAT, writeReportData, type ReportData } from '../../../core/report/report-data.js';

/** A 28×28 grey image: a filled square whose size grows with `shape`. */
async function writeImage(path: string, shape: number): Promise<void> {
  const pixels = new Uint8Array(28 * 28);
  const half = 4 + shape * 2;
  for (let y = 14 - half; y < 14 + half; y++)
    for (let x = 14 - half; x < 14 + half; x++) pixels[y * 28 + x] = 60 + shape * 30;
  await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(path);
}

export const EPOCHS = 6;

export async function writeSyntheticRun(dir: string): Promise<void> {
  mkdirSync(join(dir, 'images'), { recursive: true });
  const lines = Array.from({ length: EPOCHS }, (_, epoch) =>
    JSON.stringify({
      epoch,
      loss: 2 / (epoch + 1),
      validation: { loss: 2.2 / (epoch + 1), precisionAt1: 0.5 + epoch * 0.07 },
      learningRate: 0.001 * 0.5 ** epoch,
      seconds: 10,
    }),
  );
  lines.splice(2, 0, '{ not json');
  lines.push(JSON.stringify({ summary: true, epochs: EPOCHS, bestEpoch: EPOCHS - 1, seconds: 60 }));
  writeFileSync(join(dir, 'log.jsonl'), `${lines.join('\n')}\n`);

  const image = (label: number, n: number) => join(dir, 'images', `${label}-${n}.png`);
  for (let label = 0; label < 3; label++) for (let n = 0; n < 4; n++) await writeImage(image(label, n), label);
  // Three clusters in 6-D along the first three axes.
  const labels: string[] = [];
  const vectors: number[][] = [];
  for (let i = 0; i < 90; i++) {
    const label = i % 3;
    labels.push(String(label));
    vectors.push(Array.from({ length: 6 }, (_, j) => (j === label ? 1 : 0) + 0.1 * Math.sin(i * 1.7 + j)));
  }
  const data: ReportData = {
    format: REPORT_DATA_FORMAT,
    competition: 'synthetic',
    title: 'Synthetic run',
    createdAt: '2026-01-01T00:00:00.000Z',
    metric: { name: 'accuracy', higherIsBetter: true },
    summary: { 'validation accuracy': 0.91, 'test accuracy': 0.9, seconds: 61.5 },
    comparison: [
      { name: 'kNN raw pixels', value: 0.85, metric: 'accuracy', source: 'measured' },
      { name: 'MLP 256-128-100', value: 0.8833, metric: 'accuracy', source: 'published', note: 'dataset README' },
    ],
    tuning: {
      points: [1, 5, 10].flatMap((k) =>
        [0, 1].map((power) => ({
          overrides: { 'knn-vote.k': k, 'knn-vote.power': power },
          score: 0.8 + k / 100 + power / 50,
        })),
      ),
      best: { 'knn-vote.k': 10, 'knn-vote.power': 1 },
    },
    embeddings: { labels, vectors },
    gallery: {
      queries: [
        {
          id: 'q-good',
          labels: ['0'],
          image: image(0, 0),
          neighbours: [1, 2, 3].map((n) => ({
            id: `g0-${n}`,
            labels: ['0'],
            image: image(0, n),
            similarity: 0.9 - n / 10,
          })),
        },
        {
          id: 'q-bad',
          labels: ['1'],
          image: image(1, 0),
          neighbours: [
            { id: 'g2-1', labels: ['2'], image: image(2, 1), similarity: 0.8 },
            { id: 'g1-1', labels: ['1'], image: image(1, 1), similarity: 0.7 },
            { id: 'gone', labels: ['2'], image: join(dir, 'images', 'missing.png'), similarity: 0.6 },
          ],
        },
      ],
    },
  };
  await writeReportData(dir, data);
}
