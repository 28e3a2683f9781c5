import { registrations } from '../../core/di/container.js';
import { arcface, dynamicArcface, subcenterArcface } from './arcface.js';
import { cosface } from './cosface.js';
import { dense } from './dense.js';
import { sphereface } from './sphereface.js';

export default registrations('Head', [arcface, subcenterArcface, dynamicArcface, cosface, sphereface, dense]);
