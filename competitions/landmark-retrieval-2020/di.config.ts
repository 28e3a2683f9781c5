import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { combineModules, registrations } from '../../core/di/container.js';
import { hostKnnIndexer } from './host-knn.js';
import { RETRIEVAL_2020_CONFIG, RETRIEVAL_2020_SLUG, landmarkRetrieval2020 } from './landmark-retrieval-2020.js';

const registration: CompetitionRegistration = {
  name: RETRIEVAL_2020_SLUG,
  description:
    "Google Landmark Retrieval 2020, a model submission: trains the model, searches the top 100 by L2 distance as Kaggle's host did, " +
    'scores mAP@100 and exports the TF.js model',
  defaults: RETRIEVAL_2020_CONFIG,
  slugs: {},
  create: (options?: Partial<CompetitionConfig>) => landmarkRetrieval2020(options),
};

export default combineModules(competitionModule(registration), registrations('Indexer', [hostKnnIndexer]));
