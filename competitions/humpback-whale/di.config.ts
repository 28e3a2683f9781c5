import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { WHALE_CONFIG, humpbackWhale } from './humpback-whale.js';

const registration: CompetitionRegistration = {
  name: 'whales',
  description: 'Humpback Whale Identification: five ids per image with new_whale inserted at a tuned threshold, MAP@5',
  defaults: WHALE_CONFIG,
  slugs: { 'humpback-whale-identification': {} },
  create: (options?: Partial<CompetitionConfig>) => humpbackWhale(options),
};

export default competitionModule(registration);
