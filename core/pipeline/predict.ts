import type { ComponentChoice, Prediction } from '../contracts/competition.js';
import { exactSearchContext } from '../search/neighbours.js';
import type { ScoredRunContext } from './context.js';
import type { Embedder } from './embed.js';
import { initialState, postProcess } from './knn.js';

/** The predict stage: the fitted chain on the test queries against the strategy's test gallery. */
export async function predictTest(
  run: ScoredRunContext,
  embedder: Embedder,
  chain: readonly ComponentChoice[],
): Promise<Prediction[]> {
  const { app, config, strategy, test } = run;
  const distractors = test.distractors ?? [];
  const queries = await embedder.embed(test.queries);
  const gallery = await embedder.embed(strategy.testGallery(test, run.labelled));
  const state = initialState(app, config.indexer, embedder.dim, queries, gallery, config.neighbours, {
    excludeSelf: false,
    distractors: distractors.length > 0 ? (await embedder.embed(distractors)).vectors : undefined,
    searchModel: embedder.searchModel,
    models: await embedder.otherModels(queries.items, gallery.items),
  });
  return postProcess(app, strategy, chain, state, exactSearchContext(embedder.dim));
}
