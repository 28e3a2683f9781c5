import { existsSync } from 'node:fs';
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
  readGlrTree,
  writeGlrTables,
  type GlrEdition,
  type GlrLayout,
} from './glr.js';
import { gapMetric } from '../../core/metrics/gap.js';

/** Known non-landmark images (any depth below it), when the data directory has them. */
export const DISTRACTOR_FOLDER = 'distractors';

export const LANDMARK_CONFIG: CompetitionConfig = {
  ...IMAGE_CLASSIFICATION_CONFIG,
  // The pretrained MobileNetV2: held-out validation GAP 0.497 against 0.176 for the residual CNN trained from scratch
  // (docs/competitions.md).
  models: { image: PRETRAINED_IMAGE_MODEL },
  postProcessors: [
    { name: 'knn-vote', options: { k: 5, power: 3, headWeight: 0 } },
    { name: 'non-target-penalty', options: { k: 5, weight: 1 } },
  ],
  // Weight 0 is the chain without the penalty, so the tuning curve shows what it adds.
  tune: { 'knn-vote.k': [1, 3, 5, 10], 'knn-vote.power': [1, 3, 8], 'non-target-penalty.weight': [0, 0.5, 1] },
};

/**
 * Landmarks with a few train images each; a test set where most images show no landmark; and a
 * `distractors/` tree of other non-landmark pictures of the same kinds (rendered last, from the
 * same random stream, so the train and test files do not depend on it).
 */
async function generateSample(dir: string, seed: number, layout: GlrLayout): Promise<void> {
  const random = new Random(seed);
  const landmarks = 30;
  const sizes = classSizes(random, landmarks, 4, 7);
  const train: [string, string][] = [];
  const test: { id: string; truth: string }[] = [];
  const pictures = [];
  for (let l = 0; l < landmarks; l++) {
    const landmark = String(1000 + l * 613);
    for (let i = 0; i < sizes[l]!; i++) {
      const id = hexId(random);
      const isTest = i === 0;
      pictures.push({ path: layout.imagePath(isTest ? 'test' : 'train', id), motifIndex: l * 9 });
      if (isTest) test.push({ id, truth: landmark });
      else train.push([id, landmark]);
    }
  }
  for (let n = 0; n < 2 * landmarks; n++) {
    const id = hexId(random);
    pictures.push({ path: layout.imagePath('test', id), motifIndex: 270 + (n % 18) });
    test.push({ id, truth: '' });
  }
  await renderPictures(dir, pictures, random);
  const distractors = Array.from({ length: 2 * landmarks }, (_, n) => ({
    path: layout.imagePath(DISTRACTOR_FOLDER, hexId(random)),
    motifIndex: 270 + (n % 18),
  }));
  await renderPictures(dir, distractors, random);
  await writeGlrTables(dir, layout, { train, test: test.map((t) => t.id) });
  await writeCsvAtomic(
    join(dir, 'sample_submission.csv'),
    ['id', 'landmarks'],
    test.map((t) => [t.id, '']),
  );
  await writeCsvAtomic(
    join(dir, SAMPLE_SOLUTION_FILE),
    ['id', 'landmarks', 'Usage'],
    test.map((t) => [t.id, t.truth, hashedUsage({ id: t.id, labels: [], extra: {} })]),
  );
}

const RECOGNITION_2021: GlrEdition = {
  slug: 'landmark-recognition-2021',
  alias: 'landmarks',
  title: 'Google Landmark Recognition',
  layout: GLR_LAYOUT,
};

/** Google Landmark Recognition: one landmark and a confidence per image (or none), GAP. */
export function landmarkRecognition(
  config: Partial<CompetitionConfig> = {},
  edition: GlrEdition = RECOGNITION_2021,
): CompetitionAdapter {
  const { slug, alias, title, layout } = edition;
  return defineCompetition({
    slug,
    alias,
    title,
    metric: slug,
    scoring: gapMetric(),
    task: 'recognize',
    modality: 'image',
    config: { ...LANDMARK_CONFIG, ...config },
    submission: { idColumn: 'id', labelColumn: 'landmarks', maxLabels: 1, withConfidence: true },
    readTrain: (dataDir) => readGlrTrain(dataDir, layout),
    readTest: async (dataDir) => {
      const distractors = join(dataDir, DISTRACTOR_FOLDER);
      return {
        queries: await readGlrSet(dataDir, 'test', layout),
        ...(existsSync(distractors) ? { distractors: await readGlrTree(distractors) } : {}),
      };
    },
    generateSample: (dir, seed) => generateSample(dir, seed, layout),
  });
}
