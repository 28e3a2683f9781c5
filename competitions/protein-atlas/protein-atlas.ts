import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import {
  SAMPLE_SOLUTION_FILE,
  type CompetitionAdapter,
  type CompetitionConfig,
} from '../../core/contracts/competition.js';
import { dataPath, defineCompetition, hashedUsage, readCsv, requireField } from '../../core/competition/adapter.js';
import { InputError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { writeCsvAtomic } from '../../core/data/csv.js';
import { renderPictures } from '../../core/samples/labelled.js';
import { IMAGE_CLASSIFICATION_CONFIG, IMAGE_MODEL } from '../../core/pipeline/defaults.js';
import { multiLabelMacroF1Metric } from '../../core/metrics/macro-f1.js';

export const CHANNELS = ['red', 'green', 'blue', 'yellow'] as const;
const CLASSES = 28;

export const PROTEIN_CONFIG: CompetitionConfig = {
  ...IMAGE_CLASSIFICATION_CONFIG,
  // Sample, validation macro F1: 0.115 (every class on every row: 0.067; 10 epochs with k ≤ 10 and threshold ≥ 0.3:
  // below that).
  models: { image: { ...IMAGE_MODEL, epochs: 20 } },
  postProcessors: [
    { name: 'knn-vote', options: { k: 5, power: 3, headWeight: 0 } },
    // The tuned threshold is the fallback; classes with ≥ 3 validation positives get their own.
    { name: 'label-threshold', options: { threshold: 0.5, minPositives: 3 } },
  ],
  // Rare classes reward low thresholds (more labels per row) under macro F1.
  tune: { 'knn-vote.k': [3, 5, 10, 20, 40], 'label-threshold.threshold': [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.01] },
};

function channelPaths(folder: string, id: string): [string, string, string, string] {
  return CHANNELS.map((channel) => join(folder, `${id}_${channel}.png`)) as [string, string, string, string];
}

function validTarget(path: string, line: number, target: string): string[] {
  const labels = target.split(/\s+/).filter(Boolean);
  for (const label of labels) {
    if (!/^\d+$/.test(label) || Number(label) >= CLASSES)
      throw new InputError(path, line, 'Target', `expected class numbers 0-27 separated by spaces, got "${target}"`);
  }
  return labels;
}

/**
 * A class's motif, told apart within one channel: each file is read as one grey channel, so classes
 * differ by shape (6) and stripes (5), never by colour alone (one bright colour for all).
 */
function classMotif(label: number): number {
  const colour = 3;
  return (label % 6) + 6 * colour + 48 * Math.floor(label / 6);
}

/** Samples with one or two of the 28 classes; each class draws its own pattern into the green channel. */
async function generateSample(dir: string, seed: number): Promise<void> {
  const random = new Random(seed);
  const rows: { id: string; labels: number[] }[] = [];
  for (let i = 0; i < 240; i++) {
    const first = i % CLASSES;
    const labels = random.next() < 0.25 ? [...new Set([first, random.int(CLASSES)])] : [first];
    rows.push({ id: `${(0x5f3a1 * (i + 1)).toString(16).padStart(8, '0')}-bb99-11e8-b2b9-ac1f6b6435d0`, labels });
  }
  const pictures = rows.flatMap((row, i) => {
    const folder = i % 5 === 0 ? 'test' : 'train';
    return CHANNELS.map((channel, c) => ({
      path: join(folder, `${row.id}_${channel}.png`),
      motifIndex:
        channel === 'green'
          ? classMotif(row.labels[0]!)
          : channel === 'red'
            ? classMotif(row.labels[1] ?? row.labels[0]!)
            : 280 + c,
    }));
  });
  await renderPictures(dir, pictures, random, 48);
  const train = rows.filter((_, i) => i % 5 !== 0);
  const test = rows.filter((_, i) => i % 5 === 0);
  await writeCsvAtomic(
    join(dir, 'train.csv'),
    ['Id', 'Target'],
    train.map((r) => [r.id, r.labels.join(' ')]),
  );
  await writeCsvAtomic(
    join(dir, 'sample_submission.csv'),
    ['Id', 'Predicted'],
    test.map((r) => [r.id, '0']),
  );
  await writeCsvAtomic(
    join(dir, SAMPLE_SOLUTION_FILE),
    ['Id', 'Predicted', 'Usage'],
    test.map((r) => [r.id, r.labels.join(' '), hashedUsage({ id: r.id, labels: [], extra: {} })]),
  );
}

/** Human Protein Atlas: four-channel images, several of 28 classes per sample, macro F1. */
export function proteinAtlas(config: Partial<CompetitionConfig> = {}): CompetitionAdapter {
  return defineCompetition({
    slug: 'human-protein-atlas-image-classification',
    alias: 'protein',
    title: 'Human Protein Atlas Image Classification',
    metric: 'human-protein-atlas-image-classification',
    scoring: multiLabelMacroF1Metric(28),
    task: 'multilabel',
    modality: 'image4',
    config: { ...PROTEIN_CONFIG, ...config },
    submission: { idColumn: 'Id', labelColumn: 'Predicted', maxLabels: null, withConfidence: false },
    readTrain: async (dataDir) => {
      const path = join(dataDir, 'train.csv');
      return (await readCsv(path, ['Id', 'Target'])).map(({ line, record }) => {
        const id = requireField(path, line, record, 'Id');
        const paths = channelPaths('train', id).map((file) =>
          dataPath(dataDir, { file: path, line, field: 'Id' }, file),
        ) as [string, string, string, string];
        return {
          id,
          labels: validTarget(path, line, requireField(path, line, record, 'Target')),
          channelPaths: paths,
          extra: record,
        };
      });
    },
    readTest: async (dataDir) => {
      const folder = join(dataDir, 'test');
      const files = await readdir(folder).catch(() => {
        throw new InputError(folder, undefined, undefined, 'test image folder not found');
      });
      const ids = [
        ...new Set(files.filter((f) => f.endsWith('_green.png')).map((f) => f.slice(0, -'_green.png'.length))),
      ].sort();
      return { queries: ids.map((id) => ({ id, labels: [], channelPaths: channelPaths(folder, id), extra: {} })) };
    },
    generateSample,
  });
}
