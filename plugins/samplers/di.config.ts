import type { Sampler } from '../../core/contracts/loss.js';
import { registrations } from '../../core/di/container.js';
import { allPairsSampler, balancedPairsSampler } from './pairs.js';
import { pk } from './pk.js';

export default registrations<Sampler>('Sampler', [pk, allPairsSampler, balancedPairsSampler]);
