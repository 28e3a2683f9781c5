import { registrations } from '../../core/di/container.js';
import { allTriplets, batchHard, easyTriplets, hardTriplets, semiHardTriplets } from './triplet-miners.js';

export default registrations('Miner', [allTriplets, hardTriplets, semiHardTriplets, easyTriplets, batchHard]);
