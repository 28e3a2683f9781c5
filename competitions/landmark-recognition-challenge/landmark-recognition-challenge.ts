import type { CompetitionAdapter, CompetitionConfig } from '../../core/contracts/competition.js';
import { GLR_2018_LAYOUT } from '../landmark-recognition/glr.js';
import { landmarkRecognition } from '../landmark-recognition/landmark-recognition.js';

export const RECOGNITION_2018_SLUG = 'landmark-recognition-challenge';

/**
 * Google Landmark Recognition Challenge (CVPR 2018 workshop): 2019-2021's task and GAP, on 2018's files: `train.csv`
 * as `id,url,landmark_id` and `test.csv` as `id,url`, with the images the participant downloaded in `train/<id>.jpg`
 * and `test/<id>.jpg`.
 */
export function landmarkRecognitionChallenge(config: Partial<CompetitionConfig> = {}): CompetitionAdapter {
  return landmarkRecognition(config, {
    slug: RECOGNITION_2018_SLUG,
    alias: RECOGNITION_2018_SLUG,
    title: 'Google Landmark Recognition Challenge (2018)',
    layout: GLR_2018_LAYOUT,
  });
}
