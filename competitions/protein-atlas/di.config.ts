import type { CompetitionConfig, CompetitionRegistration } from '../../core/contracts/competition.js';
import { competitionModule } from '../../core/competition/module.js';
import { PROTEIN_CONFIG, proteinAtlas } from './protein-atlas.js';

const registration: CompetitionRegistration = {
  name: 'protein',
  description:
    'Human Protein Atlas: four-channel images, multi-label by kNN voting and per-class thresholds learned on ' +
    'validation (at least one label), macro F1 over 28 classes',
  defaults: PROTEIN_CONFIG,
  slugs: { 'human-protein-atlas-image-classification': {} },
  create: (options?: Partial<CompetitionConfig>) => proteinAtlas(options),
};

export default competitionModule(registration);
