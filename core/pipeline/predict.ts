import type { ComponentChoice, Prediction } from '../contracts/competition.js';
import type { KnnState } from '../contracts/postprocessor.js';
import { itemProgress } from '../progress.js';
import { exactSearchContext } from '../search/neighbours.js';
import type { ScoredRunContext } from './context.js';
import type { Embedder } from './embed.js';
import { initialState, learnsFromTraining, postProcess } from './knn.js';

/** The test queries searched against the test gallery; `run.train` is what the test's models learned from. */
export async function testState(run: ScoredRunContext, embedder: Embedder): Promise<KnnState> {
  const { app, config, strategy, test } = run;
  const distractors = test.distractors ?? [];
  const queries = await embedder.embed(test.queries);
  const gallery = await embedder.embed(strategy.testGallery(test, run.labelled));
  return initialState(app, config.indexer, embedder.dim, queries, gallery, config.neighbours, {
    excludeSelf: false,
    distractors: distractors.length > 0 ? (await embedder.embed(distractors)).vectors : undefined,
    searchModel: embedder.searchModel,
    models: await embedder.otherModels(queries.items, gallery.items),
    training: learnsFromTraining(app, config.postProcessors) ? await embedder.embed(run.train) : undefined,
  });
}

/** The predict stage: the fitted chain on the test state. */
export async function predictTest(
  run: ScoredRunContext,
  embedder: Embedder,
  chain: readonly ComponentChoice[],
): Promise<Prediction[]> {
  const state = await testState(run, embedder);
  const progress = itemProgress('post-processing the test set (steps)', chain.length, undefined, 0);
  try {
    return postProcess(run.app, run.strategy, chain, state, exactSearchContext(embedder.dim), {}, progress);
  } finally {
    progress.stop();
  }
}
