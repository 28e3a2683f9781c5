/**
 * Entry point for plugin authors (`simkit/plugins`): the metric-learning contracts, the shared
 * machinery losses are built from, and the built-in losses, heads, miners and samplers, so a
 * plugin can reuse or wrap them.
 */
export type * from '../core/contracts/loss.js';
export type { Registration } from '../core/contracts/registration.js';
export { registrations } from '../core/di/container.js';
export { createObjective } from '../core/losses/objective.js';
export { ClassMatrixHead, scheduleFraction, type MarginSchedule } from '../core/losses/class-matrix.js';
export { l2Normalize } from '../core/tensors.js';
export { PARAMETER_FREE, detached, distanceMatrix, labelMasks, maskedMean, meanOfPositive, type Distance } from '../core/losses/pairwise.js';

export { ArcFaceHead, ARCFACE_DEFAULTS, arcface, dynamicArcface, dynamicMargins, subcenterArcface, type ArcFaceOptions, type DynamicMargins } from './heads/arcface.js';
export { CosFaceHead, COSFACE_DEFAULTS, cosface, type CosFaceOptions } from './heads/cosface.js';
export { DenseHead, dense, type DenseHeadOptions } from './heads/dense.js';
export { SphereFaceHead, SPHEREFACE_DEFAULTS, sphereface, type SphereFaceOptions } from './heads/sphereface.js';

export { binaryCrossEntropy, focal, logistic, sigmoidCrossEntropy, type FocalOptions } from './losses/binary.js';
export { contrastive, type ContrastiveOptions } from './losses/contrastive.js';
export { crossEntropy, softmaxCrossEntropy, type CrossEntropyOptions } from './losses/cross-entropy.js';
export { hinge, type HingeOptions } from './losses/hinge.js';
export { marginLoss, type MarginLossOptions } from './losses/margin.js';
export { ntXent, type NtXentOptions } from './losses/nt-xent.js';
export { siameseConcat, siameseCosine, siameseDifference, SIAMESE_CONCAT_DEFAULTS, type ConcatOptions, type DifferenceOptions } from './losses/siamese.js';
export { anchorsPerChunk, triplet, type TripletOptions } from './losses/triplet.js';

export { PAIR_MARGIN_DEFAULTS, pairMargin, type PairMarginOptions } from './miners/pair-margin.js';
export { allTriplets, batchHard, easyTriplets, hardTriplets, semiHardTriplets } from './miners/triplet-miners.js';

export { allPairs, allPairsSampler, balancedPairs, balancedPairsSampler } from './samplers/pairs.js';
export { PK_DEFAULTS, pk, pkEpoch, type PkOptions } from './samplers/pk.js';
