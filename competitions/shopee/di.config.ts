import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { SHOPEE_CONFIG, shopee } from './shopee.js';

const registration: CompetitionRegistration = {
  name: 'shopee',
  description: 'Shopee - Price Match Guarantee (shopee-product-matching): image + title matching, mean F1',
  defaults: SHOPEE_CONFIG,
  slugs: { 'shopee-product-matching': {} },
  create: (options?: Partial<CompetitionConfig>) => shopee(options),
};

export default competitionModule(registration);
