import { registrations } from '../../core/di/container.js';
import { binaryCrossEntropy, focal, logistic } from './binary.js';
import { contrastive } from './contrastive.js';
import { crossBatchMemory } from './cross-batch-memory.js';
import { crossEntropy } from './cross-entropy.js';
import { hinge } from './hinge.js';
import { marginLoss } from './margin.js';
import { ntXent } from './nt-xent.js';
import { siameseConcat, siameseCosine, siameseDifference } from './siamese.js';
import { triplet } from './triplet.js';
import { multiSimilarity } from './multi-similarity.js';
import { supCon } from './supcon.js';
import { multiSupCon } from './multi-supcon.js';
import { labelledNtXentLoss } from './nt-xent-labels.js';
import { circle } from './circle.js';
import { liftedStructure, generalizedLiftedStructure } from './lifted-structure.js';
import { tupletMargin } from './tuplet-margin.js';
import { angular } from './angular.js';
import { nca } from './nca.js';
import { nPairs } from './n-pairs.js';
import { fastAp } from './fast-ap.js';
import { centroidTriplet } from './centroid-triplet.js';
import { instance } from './instance.js';
import { proxyAnchor } from './proxy-anchor.js';
import { proxyNca } from './proxy-nca.js';
import { normalizedSoftmax } from './normalized-softmax.js';
import { softTriple } from './soft-triple.js';
import { largeMarginSoftmax } from './large-margin-softmax.js';

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
  supCon,
  multiSupCon,
  labelledNtXentLoss,
  circle,
  liftedStructure,
  generalizedLiftedStructure,
  tupletMargin,
  angular,
  nca,
  nPairs,
  fastAp,
  centroidTriplet,
  instance,
  proxyAnchor,
  proxyNca,
  normalizedSoftmax,
  softTriple,
  largeMarginSoftmax,
  crossBatchMemory,
]);
