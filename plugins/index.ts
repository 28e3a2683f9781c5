/**
 * Entry point for plugin authors (`simkit/plugins`): the metric-learning contracts, the shared
 * machinery losses are built from, and the built-in losses, heads, miners and samplers, so a
 * plugin can reuse or wrap them.
 */
export type * from '../core/contracts/loss.js';
export type { Components, Registration } from '../core/contracts/registration.js';
export { registrations } from '../core/di/container.js';
export { createObjective } from '../core/losses/objective.js';
export { ClassMatrixHead, scheduleFraction, type MarginSchedule } from '../core/losses/class-matrix.js';
export { l2Normalize } from '../core/tensors.js';
export {
  PARAMETER_FREE,
  MinerKindError,
  detached,
  labelMasks,
  minerOfKind,
  noMiner,
  outsideTape,
  pairMasks,
} from '../core/losses/pairwise.js';
export {
  DISTANCE_NAMES,
  DISTANCES,
  defineDistance,
  type Distance,
  type DistanceOptions,
  type DistanceName,
  type DistanceOption,
  type DistanceSpec,
} from '../core/losses/distances.js';
export {
  REDUCER_NAMES,
  REDUCERS,
  reduce,
  type Reducer,
  type ReducerName,
  type ReducerOption,
  type ReducerSpec,
} from '../core/losses/reducers.js';
export {
  REGULARIZER_NAMES,
  REGULARIZERS,
  type Regularizer,
  type RegularizerName,
  type RegularizerOption,
  type RegularizerSpec,
} from '../core/losses/regularizers.js';
export {
  defineLoss,
  embeddingLoss,
  lossParts,
  regularized,
  type LossPartOptions,
  type LossParts,
} from '../core/losses/embedding-loss.js';
export { maskedLogSumExp, rowHasAny } from '../core/losses/log-sum-exp.js';
export { pairLoss, type PairBatch } from '../core/losses/pair-loss.js';

export {
  ArcFaceHead,
  ARCFACE_DEFAULTS,
  arcface,
  dynamicArcface,
  dynamicMargins,
  subcenterArcface,
  type ArcFaceOptions,
  type DynamicMargins,
} from './heads/arcface.js';
export { CosFaceHead, COSFACE_DEFAULTS, cosface, type CosFaceOptions } from './heads/cosface.js';
export { DenseHead, dense, type DenseHeadOptions } from './heads/dense.js';
export { SphereFaceHead, SPHEREFACE_DEFAULTS, sphereface, type SphereFaceOptions } from './heads/sphereface.js';

export { binaryCrossEntropy, focal, logistic, sigmoidCrossEntropy, type FocalOptions } from './losses/binary.js';
export { CONTRASTIVE_DEFAULTS, contrastive, type ContrastiveOptions } from './losses/contrastive.js';
export { crossEntropy, softmaxCrossEntropy, type CrossEntropyOptions } from './losses/cross-entropy.js';
export { HINGE_DEFAULTS, hinge, type HingeOptions } from './losses/hinge.js';
export { MARGIN_DEFAULTS, marginLoss, type MarginLossOptions } from './losses/margin.js';
export { NT_XENT_DEFAULTS, ntXent, type NtXentOptions } from './losses/nt-xent.js';
export {
  siameseConcat,
  siameseCosine,
  siameseDifference,
  SIAMESE_CONCAT_DEFAULTS,
  type ConcatOptions,
  type DifferenceOptions,
} from './losses/siamese.js';
export {
  TRIPLET_DEFAULTS,
  anchorsPerChunk,
  forEachTripletChunk,
  triplet,
  tripletLoss,
  type SelectedTriplets,
  type TripletOptions,
  type TripletTerms,
} from './losses/triplet.js';
export { ANGULAR_DEFAULTS, angular, type AngularOptions } from './losses/angular.js';
export { CENTROID_TRIPLET_DEFAULTS, centroidTriplet, type CentroidTripletOptions } from './losses/centroid-triplet.js';
export { CIRCLE_DEFAULTS, circle, type CircleOptions } from './losses/circle.js';
export { classMatrix, crossEntropyPerRow, indicator, labelRanks } from './losses/class-weights.js';
export { FAST_AP_DEFAULTS, fastAp, type FastApOptions } from './losses/fast-ap.js';
export { INSTANCE_DEFAULTS, instance, type InstanceOptions } from './losses/instance.js';
export {
  LARGE_MARGIN_SOFTMAX_DEFAULTS,
  largeMarginCosine,
  largeMarginSoftmax,
  type LargeMarginSoftmaxOptions,
} from './losses/large-margin-softmax.js';
export {
  GENERALIZED_LIFTED_STRUCTURE_DEFAULTS,
  LIFTED_STRUCTURE_DEFAULTS,
  generalizedLiftedStructure,
  liftedStructure,
  type GeneralizedLiftedStructureOptions,
  type LiftedStructureOptions,
} from './losses/lifted-structure.js';
export {
  MULTI_SUPCON_DEFAULTS,
  jaccard,
  multiSupCon,
  multiSupConLoss,
  type MultiSupConOptions,
} from './losses/multi-supcon.js';
export { MULTI_SIMILARITY_DEFAULTS, multiSimilarity, type MultiSimilarityOptions } from './losses/multi-similarity.js';
export { N_PAIRS_DEFAULTS, nPairs, type NPairsOptions } from './losses/n-pairs.js';
export { NCA_DEFAULTS, nca, type NcaOptions } from './losses/nca.js';
export {
  NORMALIZED_SOFTMAX_DEFAULTS,
  normalizedSoftmax,
  type NormalizedSoftmaxOptions,
} from './losses/normalized-softmax.js';
export {
  LABELLED_NT_XENT_DEFAULTS,
  labelledNtXent,
  labelledNtXentLoss,
  type LabelledNtXentOptions,
} from './losses/nt-xent-labels.js';
export { PROXY_ANCHOR_DEFAULTS, proxyAnchor, type ProxyAnchorOptions } from './losses/proxy-anchor.js';
export { PROXY_NCA_DEFAULTS, proxyNca, type ProxyNcaOptions } from './losses/proxy-nca.js';
export { SOFT_TRIPLE_DEFAULTS, softTriple, type SoftTripleOptions } from './losses/soft-triple.js';
export { SUPCON_DEFAULTS, supCon, type SupConOptions } from './losses/supcon.js';
export { TUPLET_MARGIN_DEFAULTS, tupletMargin, type TupletMarginOptions } from './losses/tuplet-margin.js';

export { PAIR_MARGIN_DEFAULTS, pairMargin, type PairMarginOptions } from './miners/pair-margin.js';
export {
  allTriplets,
  angularMiner,
  batchEasyHard,
  batchHard,
  distanceWeighted,
  easyTriplets,
  hardTriplets,
  semiHardTriplets,
  tripletMargin,
} from './miners/triplet-miners.js';
export { hdc, multiSimilarityMiner, uniformHistogram } from './miners/pair-miners.js';
export {
  CROSS_BATCH_MEMORY_DEFAULTS,
  crossBatchMemory,
  type CrossBatchMemoryOptions,
} from './losses/cross-batch-memory.js';

export { allPairs, allPairsSampler, balancedPairs, balancedPairsSampler } from './samplers/pairs.js';
export { PK_DEFAULTS, pk, pkEpoch, type PkOptions } from './samplers/pk.js';
