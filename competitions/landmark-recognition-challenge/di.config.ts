import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { LANDMARK_CONFIG } from '../landmark-recognition/landmark-recognition.js';
import { RECOGNITION_2018_SLUG, landmarkRecognitionChallenge } from './landmark-recognition-challenge.js';

const registration: CompetitionRegistration = {
  name: RECOGNITION_2018_SLUG,
  description:
    'Google Landmark Recognition 2018 (train.csv id,url,landmark_id; test.csv id,url; images downloaded as <set>/<id>.jpg), GAP; ' +
    "alias landmark-recognition-2018, simkit's former name (Kaggle's slug is landmark-recognition-challenge)",
  defaults: LANDMARK_CONFIG,
  slugs: {},
  aliases: ['landmark-recognition-2018'],
  create: (options?: Partial<CompetitionConfig>) => landmarkRecognitionChallenge(options),
};

export default competitionModule(registration);
