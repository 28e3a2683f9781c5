import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { RETRIEVAL_CONFIG, landmarkRetrieval } from './landmark-retrieval.js';

const registration: CompetitionRegistration = {
  name: 'landmark-retrieval',
  description: 'Google Landmark Retrieval (2019, 2021): top-100 index images with query expansion, mAP@100',
  defaults: RETRIEVAL_CONFIG,
  slugs: { 'landmark-retrieval-2019': {}, 'landmark-retrieval-2021': {} },
  create: (options?: Partial<CompetitionConfig>) => landmarkRetrieval(options),
};

export default competitionModule(registration);
