import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { LANDMARK_CONFIG, landmarkRecognition } from './landmark-recognition.js';

const registration: CompetitionRegistration = {
  name: 'landmarks',
  description:
    'Google Landmark Recognition (2019-2021): kNN label voting with comparable confidences, non-landmarks ranked last by a penalty against distractors/, GAP',
  defaults: LANDMARK_CONFIG,
  slugs: Object.fromEntries(['2019', '2020', '2021'].map((year) => [`landmark-recognition-${year}`, {}])),
  create: (options?: Partial<CompetitionConfig>) => landmarkRecognition(options),
};

export default competitionModule(registration);
