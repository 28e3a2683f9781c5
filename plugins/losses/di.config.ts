import { registrations } from '../../core/di/container.js';
import { binaryCrossEntropy, focal, logistic } from './binary.js';
import { contrastive } from './contrastive.js';
import { crossEntropy } from './cross-entropy.js';
import { hinge } from './hinge.js';
import { marginLoss } from './margin.js';
import { ntXent } from './nt-xent.js';
import { siameseConcat, siameseCosine, siameseDifference } from './siamese.js';
import { triplet } from './triplet.js';
import { multiSimilarity } from './multi-similarity.js';

export default registrations('Loss', [
  crossEntropy,
  binaryCrossEntropy,
  logistic,
  focal,
  contrastive,
  triplet,
  marginLoss,
  hinge,
  ntXent,
  siameseConcat,
  siameseDifference,
  siameseCosine,
  multiSimilarity,
]);
