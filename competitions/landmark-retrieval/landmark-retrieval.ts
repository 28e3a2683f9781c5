import { join } from 'node:path';
import {
  SAMPLE_SOLUTION_FILE,
  type CompetitionAdapter,
  type CompetitionConfig,
} from '../../core/contracts/competition.js';
import { defineCompetition, hashedUsage } from '../../core/competition/adapter.js';
import { Random } from '../../core/random.js';
import { writeCsvAtomic } from '../../core/data/csv.js';
import { classSizes, hexId, renderPictures } from '../../core/samples/labelled.js';
import { IMAGE_CLASSIFICATION_CONFIG, PRETRAINED_IMAGE_MODEL } from '../../core/pipeline/defaults.js';
import {
  GLR_LAYOUT,
  readGlrSet,
  readGlrTrain,
  writeGlrTables,
  type GlrEdition,
  type GlrLayout,
} from '../landmark-recognition/glr.js';
import { meanAveragePrecisionMetric } from '../../core/metrics/average-precision.js';

export const RETRIEVAL_CONFIG: CompetitionConfig = {
  ...IMAGE_CLASSIFICATION_CONFIG,
  // The pretrained MobileNetV2: held-out validation mAP@100 0.775 against 0.524 for the residual CNN trained from
  // scratch (docs/competitions.md).
  models: { image: PRETRAINED_IMAGE_MODEL },
  validation: { fraction: 0.3, by: 'label' },
  neighbours: 100,
  postProcessors: [{ name: 'query-expansion', options: { neighbours: 2, power: 3, minSimilarity: 0, k: 100 } }],
  tune: { 'query-expansion.neighbours': [0, 1, 2, 3] },
};

/** Train landmarks, plus an index and test set of other landmarks (with distractors in the index). */
async function generateSample(dir: string, seed: number, layout: GlrLayout): Promise<void> {
  const random = new Random(seed);
  const pictures = [];
  const train: [string, string][] = [];
  const trainSizes = classSizes(random, 30, 3, 6);
  for (let l = 0; l < 30; l++) {
    for (let i = 0; i < trainSizes[l]!; i++) {
      const id = hexId(random);
      train.push([id, String(2000 + l)]);
      pictures.push({ path: layout.imagePath('train', id), motifIndex: l * 5 });
    }
  }
  const solution: string[][] = [];
  const index: string[] = [];
  for (let l = 0; l < 20; l++) {
    const relevant: string[] = [];
    for (let i = 0; i < 3 + random.int(3); i++) {
      const id = hexId(random);
      relevant.push(id);
      index.push(id);
      pictures.push({ path: layout.imagePath('index', id), motifIndex: 150 + l * 5 });
    }
    const query = hexId(random);
    pictures.push({ path: layout.imagePath('test', query), motifIndex: 150 + l * 5 });
    solution.push([query, relevant.join(' '), hashedUsage({ id: query, labels: [], extra: {} })]);
  }
  for (let d = 0; d < 40; d++) {
    const id = hexId(random);
    index.push(id);
    pictures.push({ path: layout.imagePath('index', id), motifIndex: 251 + (d % 37) });
  }
  await renderPictures(dir, pictures, random);
  await writeGlrTables(dir, layout, { train, test: solution.map((row) => row[0]!), index: index.sort() });
  await writeCsvAtomic(
    join(dir, 'sample_submission.csv'),
    ['id', 'images'],
    solution.map((row) => [row[0]!, '']),
  );
  await writeCsvAtomic(join(dir, SAMPLE_SOLUTION_FILE), ['id', 'images', 'Usage'], solution);
}

const RETRIEVAL_2021: GlrEdition = {
  slug: 'landmark-retrieval-2021',
  alias: 'landmark-retrieval',
  title: 'Google Landmark Retrieval',
  layout: GLR_LAYOUT,
};

/** Google Landmark Retrieval: the 100 most similar index images per query, best first, mAP@100. */
export function landmarkRetrieval(
  config: Partial<CompetitionConfig> = {},
  edition: GlrEdition = RETRIEVAL_2021,
): CompetitionAdapter {
  const { slug, alias, title, layout } = edition;
  return defineCompetition({
    slug,
    alias,
    title,
    metric: slug,
    scoring: meanAveragePrecisionMetric({ name: 'mAP@100', k: 100, overflow: 'error', emptyTruth: 'ignore' }),
    task: 'retrieve',
    modality: 'image',
    config: { ...RETRIEVAL_CONFIG, ...config },
    submission: { idColumn: 'id', labelColumn: 'images', maxLabels: 100, withConfidence: false },
    readTrain: (dataDir) => readGlrTrain(dataDir, layout),
    readTest: async (dataDir) => ({
      queries: await readGlrSet(dataDir, 'test', layout),
      index: await readGlrSet(dataDir, 'index', layout),
    }),
    generateSample: (dir, seed) => generateSample(dir, seed, layout),
  });
}
