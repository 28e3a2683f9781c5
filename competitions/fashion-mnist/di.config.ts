import type { Competition } from '../../core/contracts/competition.js';
import { registrations } from '../../core/di/container.js';
import { fashionMnistRegistration } from './competition.js';

export default registrations<Competition>('Competition', [fashionMnistRegistration]);
