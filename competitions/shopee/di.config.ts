import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { registrations } from '../../core/di/container.js';
import { SHOPEE_CONFIG, shopee } from './shopee.js';

const registration: CompetitionRegistration = {
  name: 'shopee',
  description: 'Shopee - Price Match Guarantee (shopee-product-matching): image + title matching, mean F1',
  defaults: SHOPEE_CONFIG,
  slugs: { 'shopee-product-matching': {} },
  create: (options?: Partial<CompetitionConfig>) => shopee(options),
};

export default registrations('Competition', [registration]);
