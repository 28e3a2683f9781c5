import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { registrations } from '../../core/di/container.js';
import { HERBARIUM_CONFIG, herbarium } from './herbarium.js';

const registration: CompetitionRegistration = {
  name: 'herbarium',
  description: 'Herbarium 2020-2022 (COCO metadata; 2020 read as latin-1): one species per specimen, macro F1',
  defaults: HERBARIUM_CONFIG,
  slugs: { 'herbarium-2020-fgvc7': { year: 2020 }, 'herbarium-2021-fgvc8': { year: 2021 }, 'herbarium-2022-fgvc9': { year: 2022 } },
  create: (options?: Partial<CompetitionConfig>) => herbarium(options),
};

export default registrations('Competition', [registration]);
