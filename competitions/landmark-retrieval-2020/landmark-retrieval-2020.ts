import type { CompetitionAdapter, CompetitionConfig } from '../../core/contracts/competition.js';
import { UserError } from '../../core/errors.js';
import { GLR_LAYOUT } from '../landmark-recognition/glr.js';
import { RETRIEVAL_CONFIG, landmarkRetrieval } from '../landmark-retrieval/landmark-retrieval.js';
import { exportHostModel } from './export.js';
import { HOST_KNN } from './host-knn.js';

export const RETRIEVAL_2020_SLUG = 'landmark-retrieval-2020';

/** Neighbours the host returned per test image (mAP@100). */
const HOST_NEIGHBOURS = 100;

/** The model is trained as for 2019 and 2021; the search is the host's, with nothing after it. */
export const RETRIEVAL_2020_CONFIG: CompetitionConfig = {
  ...RETRIEVAL_CONFIG,
  indexer: { name: HOST_KNN, options: {} },
  neighbours: HOST_NEIGHBOURS,
  postProcessors: [],
  tune: {},
};

/**
 * The host embedded the images with the uploaded model and searched itself: a config may change the model and its
 * training, never the search.
 */
function checkHostProtocol(config: CompetitionConfig, source: string): void {
  const why =
    `${RETRIEVAL_2020_SLUG} took a model: Kaggle's host embedded the images with it and took ` +
    `the ${HOST_NEIGHBOURS} nearest index images by L2 distance itself`;
  if (config.postProcessors.length > 0)
    throw new UserError(
      `${source}: postProcessors (${config.postProcessors.map((p) => p.name).join(', ')}) cannot be part of a ${RETRIEVAL_2020_SLUG} submission`,
      `${why}; set postProcessors: [] and tune: {}`,
    );
  const search = config.search ?? Object.keys(config.models)[0]!;
  if (config.models[search]?.input !== 'image')
    throw new UserError(
      `${source}: the search model "${search}" must be an image model`,
      `${why}; search an image model`,
    );
  if (config.indexer.name !== HOST_KNN || config.neighbours !== HOST_NEIGHBOURS)
    throw new UserError(
      `${source}: indexer ${config.indexer.name} with ${config.neighbours} neighbours is not the search ${RETRIEVAL_2020_SLUG} was scored with`,
      `${why}; keep indexer ${HOST_KNN} and neighbours ${HOST_NEIGHBOURS}`,
    );
}

/**
 * Google Landmark Retrieval 2020: 2019 and 2021's data and mAP@100, but the participants uploaded a model, which the
 * host ran on the index and test images before its own kNN. A run trains the model, searches as the host did, scores
 * the result, and exports the model (export.ts) that reproduces exactly the vectors that were scored.
 */
export function landmarkRetrieval2020(config: Partial<CompetitionConfig> = {}): CompetitionAdapter {
  const competition = landmarkRetrieval(
    { ...RETRIEVAL_2020_CONFIG, ...config },
    {
      slug: RETRIEVAL_2020_SLUG,
      alias: RETRIEVAL_2020_SLUG,
      title: 'Google Landmark Retrieval 2020 (model submission)',
      layout: GLR_LAYOUT,
    },
  );
  return {
    ...competition,
    checkConfig: checkHostProtocol,
    exportModel: (run) => exportHostModel(competition, run),
  };
}
