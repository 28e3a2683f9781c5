import type { Miner } from '../../core/contracts/loss.js';
import { registrations } from '../../core/di/container.js';
import { pairMargin } from './pair-margin.js';
import { hdc, multiSimilarityMiner, uniformHistogram } from './pair-miners.js';
import {
  allTriplets,
  angularMiner,
  batchEasyHard,
  batchHard,
  distanceWeighted,
  easyTriplets,
  hardTriplets,
  semiHardTriplets,
  tripletMargin,
} from './triplet-miners.js';

export default registrations<Miner>('Miner', [
  allTriplets,
  hardTriplets,
  semiHardTriplets,
  easyTriplets,
  batchHard,
  tripletMargin,
  batchEasyHard,
  angularMiner,
  distanceWeighted,
  pairMargin,
  multiSimilarityMiner,
  hdc,
  uniformHistogram,
]);
