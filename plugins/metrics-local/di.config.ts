import type { ScoringSpec } from '../../core/contracts/metric.js';
import { registrations } from '../../core/di/container.js';
import { scoringRegistration } from '../../core/scoring/registration.js';
import { LOCAL_SCORING_SPECS } from './accuracy.js';

export default registrations<ScoringSpec>('Metric', LOCAL_SCORING_SPECS.map(scoringRegistration));
