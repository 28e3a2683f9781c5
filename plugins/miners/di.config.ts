import type { Miner } from '../../core/contracts/loss.js';
import { registrations } from '../../core/di/container.js';
import { pairMargin } from './pair-margin.js';
import { allTriplets, batchHard, easyTriplets, hardTriplets, semiHardTriplets } from './triplet-miners.js';

export default registrations<Miner>('Miner', [allTriplets, hardTriplets, semiHardTriplets, easyTriplets, batchHard, pairMargin]);
