import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { HERBARIUM_CONFIG, HERBARIUM_SLUGS, herbarium } from './herbarium.js';

const registration: CompetitionRegistration = {
  name: 'herbarium',
  description:
    'Herbarium 2019-2022 (2019 category folders; COCO metadata, 2020 read as latin-1): one species per specimen, macro F1 (2019: top-1 error)',
  defaults: HERBARIUM_CONFIG,
  slugs: Object.fromEntries(Object.entries(HERBARIUM_SLUGS).map(([year, slug]) => [slug, { year: Number(year) }])),
  create: (options?: Partial<CompetitionConfig>) => herbarium(options),
};

export default competitionModule(registration);
