// Fashion-MNIST side by side, on the real 60,000 / 10,000 split: results published with the dataset (its README), kNN
// on raw pixels through the project's FAISS path (k from the package's baselines.json grid), a softmax classifier and
// an ArcFace metric-learning model trained by the project's engine (kNN on the learned embeddings), and a zero-shot
// retrieval variant (train on classes 0–4, retrieve among the test images of classes 5–9, MAP@R). Writes report.json
// and the HTML report. The softmax and ArcFace models share one CNN (plugins/backbones/plain-cnn.ts); each row notes
// its training time, wall clock and CPU (the native engine uses every core, so CPU seconds exceed wall seconds; on a
// machine shared with other work the wall seconds grow). Settings: DATA (IDX directory), OUT, FM_EPOCHS,
// FM_SOFTMAX_EPOCHS, FM_ZERO_SHOT_EPOCHS, FM_LR, FM_FLIP (1/0), FM_ZERO_SHOT_LR.
import { join, resolve } from 'node:path';
import type { Item } from '../core/contracts/competition.js';
import type { NeighbourRow } from '../core/contracts/postprocessor.js';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { searchNeighbours } from '../core/search/neighbours.js';
import { VectorIndex } from '../core/search/vector-index.js';
import {
  embeddingSample,
  neighbourGallery,
  REPORT_DATA_FORMAT,
  writeReportData,
  type ComparisonRow,
} from '../core/report/report-data.js';
import { writeReport } from '../core/report/render.js';
import {
  CLASS_NAMES,
  pixelVectors,
  pngCache,
  readSplit,
  subset,
  SYSTEM_DATA_DIR,
  type Split,
} from '../competitions/fashion-mnist/dataset.js';
import { accuracy, euclideanNeighbours, majorityVote } from '../competitions/fashion-mnist/pixel-knn.js';
import { readKnnGrid, readPublishedResults } from '../competitions/fashion-mnist/published.js';
import { itemId } from '../competitions/fashion-mnist/competition.js';
import {
  FASHION_MNIST_PRETRAINED,
  FASHION_MNIST_PRETRAINED_LAYER,
  FASHION_MNIST_PRETRAINED_SIZE,
  FASHION_MNIST_ZERO_SHOT,
} from './fashion-mnist-recipe.js';
import {
  buildCnn,
  pixelMapAtR,
  trainPretrainedZeroShot,
  trainZeroShot,
  unseenMapAtR,
  unseenRgbMapAtR,
} from './zero-shot.js';
import { packagedNetwork, packagedNetworkModel } from '../core/models/packaged-networks.js';
import {
  BACKBONE_LABEL,
  BATCH,
  embed,
  EMBEDDING_DIM,
  FLIP,
  LEARNING_RATE,
  softmaxClassifier,
  train,
  type Trained,
} from './fashion-mnist-classifier.js';

const DATA = resolve(process.env.DATA ?? SYSTEM_DATA_DIR);
const OUT = resolve(process.env.OUT ?? join('output', 'fashion-mnist-bench'));
const RUN_DIR = join(OUT, 'run');
const EPOCHS = Number(process.env.FM_EPOCHS ?? 13);
const SOFTMAX_EPOCHS = Number(process.env.FM_SOFTMAX_EPOCHS ?? 2);
/** Training budget of the metric-learning model (seconds). */
const BUDGET_SECONDS = 900;
/** Share of the training images held out to tune the vote's k (the test set is used once, at the end). */
const VALIDATION_SHARE = 0.1;
const TUNED_K = [1, 5, 10, 20];
/** Target of the metric-learning model: kNN accuracy on the test set. */
const TARGET_ACCURACY = 0.93;
const PUBLISHED = [
  'MLP 256-128-100',
  'AlexNet with Triplet loss',
  'HOG+SVM',
  '2 Conv <100K parameters',
  'Human Performance',
];
function splitRange(split: Split, from: number, to: number): Split {
  return subset(
    split,
    Array.from({ length: to - from }, (_, i) => from + i),
  );
}

function withLabels(split: Split, keep: (label: number) => boolean): Split {
  return subset(
    split,
    [...split.labels.keys()].filter((i) => keep(split.labels[i]!)),
  );
}

function cosineNeighbours(
  gallery: Float32Array,
  queries: Float32Array,
  k: number,
  excludeSelf = false,
): NeighbourRow[] {
  const index = VectorIndex.create(EMBEDDING_DIM);
  const ids = Array.from({ length: gallery.length / EMBEDDING_DIM }, (_, i) => String(i));
  index.add(ids, gallery);
  const queryIds = excludeSelf ? ids : Array.from({ length: queries.length / EMBEDDING_DIM }, (_, i) => `q${i}`);
  return searchNeighbours(index, queryIds, queries, { k, excludeSelf });
}

function seconds(since: number): number {
  return (Date.now() - since) / 1000;
}

function trainedNote(epochs: number, trained: Trained): string {
  return `${epochs} epochs, ${trained.seconds.toFixed(0)} s (CPU ${trained.cpuSeconds.toFixed(0)} s)`;
}

async function main(): Promise<void> {
  const engine = await initEngine();
  const app = await Simkit.create();
  const trainSplit = await readSplit(DATA, 'train');
  const testSplit = await readSplit(DATA, 'test');
  console.log(
    `Fashion-MNIST from ${DATA}: ${trainSplit.count} train, ${testSplit.count} test; engine ${engine.name}; ` +
      `${BACKBONE_LABEL}, lr ${LEARNING_RATE}, flip ${FLIP ? 'on' : 'off'}, batch ${BATCH}`,
  );
  const rows: ComparisonRow[] = [];

  // Published results (as submitted to the dataset's README).
  const published = await readPublishedResults().catch(() => []);
  for (const name of PUBLISHED) {
    for (const result of published.filter((r) => r.classifier === name)) {
      rows.push({
        name: `${result.classifier} (${result.submitter})`,
        value: result.accuracy,
        metric: 'accuracy',
        source: 'published',
        note: 'dataset README',
      });
    }
  }

  // kNN on raw pixels, Euclidean, through FAISS; k from the package's scikit-learn grid.
  const ks = await readKnnGrid().catch(() => [1, 5, 9]);
  const started = Date.now();
  const pixelRows = euclideanNeighbours(pixelVectors(trainSplit), pixelVectors(testSplit), 784, Math.max(...ks));
  const pixelSeconds = seconds(started);
  for (const k of ks) {
    rows.push({
      name: `kNN raw pixels, k=${k}`,
      value: accuracy(majorityVote(pixelRows, trainSplit.labels, k), testSplit.labels),
      metric: 'accuracy',
      source: 'measured',
      note: `FAISS flat, ${pixelSeconds.toFixed(0)} s`,
    });
  }

  const boundary = Math.round(trainSplit.count * (1 - VALIDATION_SHARE));
  const fit = splitRange(trainSplit, 0, boundary);
  const held = splitRange(trainSplit, boundary, trainSplit.count);
  // Metric learning: ArcFace, kNN vote on the embeddings with k tuned on the held-out training images.
  const arcface = await train(app, fit, 'arcface', EPOCHS, { runDir: RUN_DIR });
  const fitVectors = await embed(arcface.model, fit);
  const heldRows = cosineNeighbours(fitVectors, await embed(arcface.model, held), Math.max(...TUNED_K));
  const tuning = TUNED_K.map((k) => ({
    overrides: { 'knn-vote.k': k },
    score: accuracy(majorityVote(heldRows, fit.labels, k), held.labels),
  }));
  const best = tuning.reduce((a, b) => (b.score > a.score ? b : a));
  const k = best.overrides['knn-vote.k'];
  const learnedTest = await embed(arcface.model, testSplit);
  const testRows = cosineNeighbours(fitVectors, learnedTest, Math.max(...TUNED_K));
  const learnedAccuracy = accuracy(majorityVote(testRows, fit.labels, k), testSplit.labels);
  const arcfaceRow: ComparisonRow = {
    name: `ArcFace ${BACKBONE_LABEL} + kNN (k=${k})`,
    value: learnedAccuracy,
    metric: 'accuracy',
    source: 'measured',
    note: trainedNote(EPOCHS, arcface),
  };
  console.log(
    `ArcFace: test accuracy ${learnedAccuracy.toFixed(4)} (k=${k}, held-out ${best.score.toFixed(4)}), ${arcfaceRow.note}`,
  );
  arcface.dispose();

  // Softmax classifier: same backbone, dense head, argmax of the logits (trained after the
  // metric-learning model, whose result matters most, but listed before it).
  const softmax = await softmaxClassifier(app, fit, testSplit, SOFTMAX_EPOCHS);
  rows.push({
    name: `softmax classifier (${BACKBONE_LABEL})`,
    value: softmax.accuracy,
    metric: 'accuracy',
    source: 'measured',
    note: trainedNote(SOFTMAX_EPOCHS, softmax),
  });
  rows.push(arcfaceRow);

  // Zero-shot: train on classes 0–4, retrieve among the test images of classes 5–9 (bench/zero-shot.ts;
  // the recipe is bench/fashion-mnist-recipe.ts, compared with the alternatives in docs/fashion-mnist.md).
  const recipe = FASHION_MNIST_ZERO_SHOT;
  const zeroShot = await trainZeroShot(
    app,
    withLabels(fit, (label) => label < 5),
    recipe,
  );
  const unseen = withLabels(testSplit, (label) => label >= 5);
  const zeroShotMapAtR = await unseenMapAtR(zeroShot.model, unseen);
  zeroShot.model.dispose();
  // The same CNN with its seeded random weights, never trained: what training on classes 0–4 adds or takes away.
  const untrained = buildCnn(app, recipe.embeddingDim);
  const untrainedMapAtR = await unseenMapAtR(untrained, unseen);
  untrained.dispose();
  const pixelZeroShot = pixelMapAtR(unseen);
  rows.push({ name: 'zero-shot: raw pixels, classes 5–9', value: pixelZeroShot, metric: 'MAP@R', source: 'measured' });
  rows.push({
    name: `zero-shot: CNN (${recipe.embeddingDim}) untrained (seeded)`,
    value: untrainedMapAtR,
    metric: 'MAP@R',
    source: 'measured',
    note: 'random weights, no training',
  });
  rows.push({
    name: `zero-shot: ${recipe.label}, trained on classes 0–4`,
    value: zeroShotMapAtR,
    metric: 'MAP@R',
    source: 'measured',
    note:
      `${recipe.trainImages} images, ${recipe.epochs} epoch(s), lr ${recipe.learningRate}, dim ` +
      `${recipe.embeddingDim}, shift ±${recipe.shift} px + flip, ${zeroShot.seconds.toFixed(0)} s`,
  });
  // The pretrained MobileNetV2 (npm package nsfwjs, offline): its frozen map, then fine-tuned on classes 0–4.
  const frozen = packagedNetworkModel(packagedNetwork('mobilenet-v2'), {
    size: FASHION_MNIST_PRETRAINED_SIZE,
    layer: FASHION_MNIST_PRETRAINED_LAYER,
    frozen: true,
  });
  const frozenMapAtR = await unseenRgbMapAtR(frozen, unseen, FASHION_MNIST_PRETRAINED_SIZE);
  frozen.dispose();
  rows.push({
    name: `zero-shot: MobileNetV2 ${FASHION_MNIST_PRETRAINED_LAYER} frozen`,
    value: frozenMapAtR,
    metric: 'MAP@R',
    source: 'measured',
    note: `ImageNet weights, ${FASHION_MNIST_PRETRAINED_SIZE} px, map flattened, cosine, no training`,
  });
  const pretrained = FASHION_MNIST_PRETRAINED;
  const tuned = await trainPretrainedZeroShot(
    app,
    withLabels(fit, (label) => label < 5),
    pretrained,
  );
  const tunedMapAtR = await unseenRgbMapAtR(tuned.retrieval, unseen, pretrained.imageSize);
  tuned.model.dispose();
  rows.push({
    name: `zero-shot: ${pretrained.label}, classes 0–4`,
    value: tunedMapAtR,
    metric: 'MAP@R',
    source: 'measured',
    note:
      `${pretrained.trainImages} images, ${pretrained.fineTuning.headOnlyEpochs} head-only + ` +
      `${pretrained.epochs - pretrained.fineTuning.headOnlyEpochs} unfrozen (from ${String(pretrained.fineTuning.unfreeze)}) ` +
      `epoch(s), lr ${pretrained.learningRate}, dim ${pretrained.embeddingDim}, retrieval by the ${pretrained.retrieval}, ` +
      `${tuned.seconds.toFixed(0)} s`,
  });
  console.log(
    `zero-shot MAP@R ${zeroShotMapAtR.toFixed(4)} vs untrained ${untrainedMapAtR.toFixed(4)} (ratio ` +
      `${(zeroShotMapAtR / untrainedMapAtR).toFixed(3)}) and raw pixels ${pixelZeroShot.toFixed(4)} (ratio ${(zeroShotMapAtR / pixelZeroShot).toFixed(3)})`,
  );

  console.log('\nmethod                                              metric     value   source     note');
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(52)}${row.metric.padEnd(11)}${row.value === null ? '—' : row.value.toFixed(4)}  ${row.source.padEnd(10)} ${row.note ?? ''}`,
    );
  }
  console.log(
    `\nArcFace kNN accuracy ${learnedAccuracy.toFixed(4)} vs target ${TARGET_ACCURACY} (ratio ` +
      `${(learnedAccuracy / TARGET_ACCURACY).toFixed(3)}), held-out accuracy ${best.score.toFixed(4)}; trained ` +
      `${arcface.seconds.toFixed(0)} s wall, ${arcface.cpuSeconds.toFixed(0)} s CPU (budget ${BUDGET_SECONDS} s, ` +
      `ratio ${(arcface.seconds / BUDGET_SECONDS).toFixed(2)} wall, ${(arcface.cpuSeconds / BUDGET_SECONDS).toFixed(2)} CPU)`,
  );

  // Report: test queries against the training gallery, worst first, with the cached PNGs.
  const trainImages = await pngCache(DATA, 'train', trainSplit);
  const testImages = await pngCache(DATA, 'test', testSplit);
  const label = (value: number) => `${value} ${CLASS_NAMES[value]}`;
  const testItems: Item[] = Array.from(testSplit.labels, (value, i) => ({
    id: itemId('test', i),
    labels: [label(value)],
    imagePath: testImages.path(i),
    extra: {},
  }));
  const fitItems: Item[] = Array.from(fit.labels, (value, i) => ({
    id: itemId('train', i),
    labels: [label(value)],
    imagePath: trainImages.path(i),
    extra: {},
  }));
  await writeReportData(RUN_DIR, {
    format: REPORT_DATA_FORMAT,
    competition: 'fashion-mnist',
    title: 'Fashion-MNIST: ArcFace embeddings vs baselines',
    createdAt: new Date().toISOString(),
    metric: { name: 'accuracy', higherIsBetter: true },
    summary: {
      'test accuracy (ArcFace + kNN)': learnedAccuracy,
      'validation accuracy (tuned k)': best.score,
      'zero-shot MAP@R': zeroShotMapAtR,
      'zero-shot MAP@R, MobileNetV2 frozen': frozenMapAtR,
      'zero-shot MAP@R, MobileNetV2 fine-tuned': tunedMapAtR,
      'training seconds': Math.round(arcface.seconds),
      'training CPU seconds': Math.round(arcface.cpuSeconds),
      engine: engine.name,
    },
    comparison: rows,
    tuning: { points: tuning, best: best.overrides },
    embeddings: embeddingSample(testItems, learnedTest, { max: 1500 }),
    gallery: neighbourGallery(testItems, fitItems, testRows, { count: 10, k: 6 }),
  });
  const { path } = await writeReport(RUN_DIR);
  console.log(`report ${path}`);
}

await main();
