import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { HOTEL_CONFIG, hotelId } from './hotel-id.js';

const registration: CompetitionRegistration = {
  name: 'hotels',
  description: 'Hotel-ID (hotel-id-2021-fgvc8, 2022 alike): five hotels per image by kNN over train images, MAP@5',
  defaults: HOTEL_CONFIG,
  slugs: { 'hotel-id-2021-fgvc8': {}, 'hotel-id-2022-fgvc9': {} },
  create: (options?: Partial<CompetitionConfig>) => hotelId(options),
};

export default competitionModule(registration);
