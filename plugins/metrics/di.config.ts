import type { ScoringSpec } from '../../core/contracts/metric.js';
import { registrations } from '../../core/di/container.js';
import { scoringRegistration } from '../../core/scoring/registration.js';
import { BUILTIN_SCORING_SPECS } from './specs.js';

export default registrations<ScoringSpec>('Metric', BUILTIN_SCORING_SPECS.map(scoringRegistration));
