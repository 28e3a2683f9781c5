import { registrations } from '../../core/di/container.js';
import { databaseAugmentation, neighbourhoodBlending, queryExpansion } from './blend.js';
import { combined } from './combined.js';
import { knnVote } from './knn-vote.js';
import { labelThreshold } from './label-threshold.js';
import { min2 } from './min2.js';
import { modelMatch } from './model-match.js';
import { nonTargetPenalty } from './non-target.js';
import { phash } from './phash.js';
import { reciprocal } from './reciprocal.js';
import { rerank } from './rerank.js';
import { tfidf } from './tfidf.js';
import { threshold } from './threshold.js';
import { unknownLabel } from './unknown-label.js';

export default registrations('PostProcessor', [
  threshold,
  min2,
  knnVote,
  labelThreshold,
  unknownLabel,
  queryExpansion,
  databaseAugmentation,
  neighbourhoodBlending,
  nonTargetPenalty,
  reciprocal,
  rerank,
  // Match sources: matches besides the search model's neighbours.
  phash,
  tfidf,
  modelMatch,
  combined,
]);
