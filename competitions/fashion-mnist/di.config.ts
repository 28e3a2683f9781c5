import { competitionModule } from '../../core/competition/module.js';
import { fashionMnistRegistration } from './competition.js';

export default competitionModule(fashionMnistRegistration);
