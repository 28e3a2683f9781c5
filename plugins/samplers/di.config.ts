import { registrations } from '../../core/di/container.js';
import { pk } from './pk.js';

export default registrations('Sampler', [pk]);
