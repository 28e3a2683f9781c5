import { registrations } from '../../core/di/container.js';
import { crossEntropy } from './cross-entropy.js';

export default registrations('Loss', [crossEntropy]);
