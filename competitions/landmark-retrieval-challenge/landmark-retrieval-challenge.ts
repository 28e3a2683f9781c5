import type { CompetitionAdapter, CompetitionConfig } from '../../core/contracts/competition.js';
import { GLR_2018_LAYOUT } from '../landmark-recognition/glr.js';
import { landmarkRetrieval } from '../landmark-retrieval/landmark-retrieval.js';

export const RETRIEVAL_2018_SLUG = 'landmark-retrieval-challenge';

/**
 * Google Landmark Retrieval Challenge (CVPR 2018 workshop): 2019-2021's task and mAP@100, on 2018's files:
 * `index.csv` and `test.csv` as `id,url` (train.csv, the recognition train set, as `id,url,landmark_id`), with the
 * images the participant downloaded in `index/<id>.jpg`, `test/<id>.jpg` and `train/<id>.jpg`.
 */
export function landmarkRetrievalChallenge(config: Partial<CompetitionConfig> = {}): CompetitionAdapter {
  return landmarkRetrieval(config, {
    slug: RETRIEVAL_2018_SLUG,
    alias: RETRIEVAL_2018_SLUG,
    title: 'Google Landmark Retrieval Challenge (2018)',
    layout: GLR_2018_LAYOUT,
  });
}
