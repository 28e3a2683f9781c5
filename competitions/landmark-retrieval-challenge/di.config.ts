import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { RETRIEVAL_CONFIG } from '../landmark-retrieval/landmark-retrieval.js';
import { RETRIEVAL_2018_SLUG, landmarkRetrievalChallenge } from './landmark-retrieval-challenge.js';

const registration: CompetitionRegistration = {
  name: RETRIEVAL_2018_SLUG,
  description:
    'Google Landmark Retrieval 2018 (index.csv and test.csv id,url; images downloaded as <set>/<id>.jpg): top-100 index images with query expansion, mAP@100',
  defaults: RETRIEVAL_CONFIG,
  slugs: {},
  create: (options?: Partial<CompetitionConfig>) => landmarkRetrievalChallenge(options),
};

export default competitionModule(registration);
