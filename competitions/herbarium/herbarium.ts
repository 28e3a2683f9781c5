import type { CompetitionAdapter, CompetitionConfig, SubmissionFormat } from '../../core/contracts/competition.js';
import { defineCompetition } from '../../core/competition/adapter.js';
import { InputError } from '../../core/errors.js';
import { singleLabelMacroF1Metric } from '../../core/metrics/macro-f1.js';
import { meanTop1ErrorMetric } from '../../core/metrics/top1-error.js';
import { IMAGE_CLASSIFICATION_CONFIG } from '../../core/pipeline/defaults.js';
import { read2019Test, read2019Train, readCoco, type HerbariumYear } from './layouts.js';
import { generateHerbariumSample } from './sample.js';

export const HERBARIUM_CONFIG: CompetitionConfig = { ...IMAGE_CLASSIFICATION_CONFIG, year: 2022 };

/** Kaggle slug (also the scoring spec's name) of each edition. */
export const HERBARIUM_SLUGS: Record<HerbariumYear, string> = {
  2019: 'herbarium-2019-fgvc6',
  2020: 'herbarium-2020-fgvc7',
  2021: 'herbarium-2021-fgvc8',
  2022: 'herbarium-2022-fgvc9',
};

/** Herbarium 2019-2022: one species per specimen from kNN voting; macro F1 (2019: top-1 error). */
export function herbarium(config: Partial<CompetitionConfig> = {}): CompetitionAdapter {
  const resolved = { ...HERBARIUM_CONFIG, ...config };
  const year = (resolved.year ?? 2022) as HerbariumYear;
  const slug = HERBARIUM_SLUGS[year];
  if (!slug)
    throw new InputError('config', undefined, 'year', `expected 2019, 2020, 2021 or 2022, got ${resolved.year}`);
  const submission: SubmissionFormat = {
    idColumn: 'Id',
    labelColumn: year === 2019 ? 'Category' : 'Predicted',
    maxLabels: 1,
    withConfidence: false,
  };
  return defineCompetition({
    slug,
    alias: 'herbarium',
    title: `Herbarium ${year}`,
    metric: slug,
    scoring: year === 2019 ? meanTop1ErrorMetric() : singleLabelMacroF1Metric(),
    task: 'classify',
    modality: 'image',
    config: resolved,
    submission,
    readTrain: (dataDir) => (year === 2019 ? read2019Train(dataDir) : readCoco(dataDir, year, 'train')),
    readTest: async (dataDir) => ({
      queries: year === 2019 ? await read2019Test(dataDir) : await readCoco(dataDir, year, 'test'),
    }),
    generateSample: (dir, seed) => generateHerbariumSample(dir, seed, year, submission),
  });
}
