import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  Competition,
  CompetitionConfig,
  CompetitionRegistration,
  Item,
  Prediction,
  Table,
  TestSet,
} from '../../core/contracts/competition.js';
import { SAMPLE_SOLUTION_FILE } from '../../core/contracts/competition.js';
import type { Usage } from '../../core/contracts/metric.js';
import { Random } from '../../core/random.js';
import { accuracyMetric } from './accuracy.js';
import { writeCsvAtomic } from '../../core/data/csv.js';
import { pngCache, readSplit, writeSplit, type SplitName } from './dataset.js';
import { EMBEDDED_SAMPLE_DIR } from './sample.js';

export const FASHION_MNIST_SLUG = 'fashion-mnist';
export const SUBMISSION_HEADER = ['id', 'label'] as const;

/** Share of the sample's test rows on the Public leaderboard (the rest are Private). */
const PUBLIC_SHARE = 0.3;

export const DEFAULT_CONFIG: CompetitionConfig = {
  models: {
    image: {
      input: 'image',
      imageSize: 28,
      // The benchmark's CNN (bench/fashion-mnist.ts): ≥ 0.91 kNN accuracy on the full data in 5 epochs.
      backbone: { name: 'plain-cnn', options: { stages: [[16], [32]], hidden: 128 } },
      head: { name: 'arcface', options: { margin: 0.3, scale: 30 } },
      loss: { name: 'cross-entropy', options: {} },
      sampler: { name: 'pk', options: {} },
      embeddingSize: 64,
      epochs: 5,
      batchSize: 128,
      learningRate: 0.003,
    },
  },
  validation: { fraction: 0.1, by: 'item' },
  indexer: { name: 'flat', options: {} },
  neighbours: 20,
  postProcessors: [{ name: 'knn-vote', options: { k: 10, power: 1 } }],
  tune: { 'knn-vote.k': [1, 5, 10, 20] },
};

export function itemId(split: SplitName, index: number): string {
  return `${split}-${String(index).padStart(5, '0')}`;
}

/** The data directory's files exactly: the train split with labels, the test split without. */
async function itemsOf(dataDir: string, split: SplitName, withLabels: boolean): Promise<Item[]> {
  const data = await readSplit(dataDir, split);
  const cache = await pngCache(dataDir, split, data);
  return Array.from({ length: data.count }, (_, i) => ({
    id: itemId(split, i),
    labels: withLabels ? [String(data.labels[i])] : [],
    imagePath: cache.path(i),
    extra: {},
  }));
}

function writeTable(path: string, table: Table): Promise<void> {
  return writeCsvAtomic(path, table.columns, table.rows);
}

/**
 * Fashion-MNIST as a local competition: classify each of the 10,000 test images into one of 10
 * classes, scored by accuracy. The data is the original IDX distribution (dataset.ts's `SYSTEM_DATA_DIR` or
 * any directory with the four `*-ubyte.gz` files); the test labels are the hidden truth.
 */
export class FashionMnist implements Competition {
  readonly slug = FASHION_MNIST_SLUG;
  readonly alias = FASHION_MNIST_SLUG;
  readonly title = 'Fashion-MNIST (Zalando article images, 10 classes)';
  readonly metric = FASHION_MNIST_SLUG;
  readonly scoring = accuracyMetric();
  readonly task = 'classify' as const;
  readonly modality = 'image' as const;
  readonly submission = {
    idColumn: SUBMISSION_HEADER[0],
    labelColumn: SUBMISSION_HEADER[1],
    maxLabels: 1,
    withConfidence: false,
  };

  constructor(readonly config: CompetitionConfig) {}

  readTrain(dataDir: string): Promise<Item[]> {
    return itemsOf(dataDir, 'train', true);
  }

  async readTest(dataDir: string): Promise<TestSet> {
    return { queries: await itemsOf(dataDir, 'test', false) };
  }

  /**
   * Copies the embedded sample (class-balanced subsets of the real train and test sets, see
   * sample.ts) and writes the test labels as the solution; `seed` draws the Public/Private rows.
   */
  async generateSample(dir: string, seed: number): Promise<void> {
    const random = new Random(seed);
    await mkdir(dir, { recursive: true });
    for (const split of ['train', 'test'] as const)
      await writeSplit(dir, split, await readSplit(EMBEDDED_SAMPLE_DIR, split));
    const test = await readSplit(dir, 'test');
    const truth = Array.from(test.labels, (label, i): Item => ({
      id: itemId('test', i),
      labels: [String(label)],
      extra: {},
    }));
    await writeTable(
      join(dir, SAMPLE_SOLUTION_FILE),
      this.solutionTable(truth, { usage: () => (random.next() < PUBLIC_SHARE ? 'Public' : 'Private') }),
    );
  }

  submissionTable(predictions: readonly Prediction[]): Table {
    return {
      columns: SUBMISSION_HEADER,
      rows: predictions.map((prediction) => [prediction.id, prediction.labels[0] ?? '']),
    };
  }

  solutionTable(truth: readonly Item[], options: { usage?: (item: Item) => Usage } = {}): Table {
    const usage = options.usage ?? (() => 'Public');
    return {
      columns: [...SUBMISSION_HEADER, 'Usage'],
      rows: truth.map((item) => [item.id, item.labels[0] ?? '', usage(item)]),
    };
  }

  writeSubmission(predictions: readonly Prediction[], path: string): Promise<void> {
    return writeTable(path, this.submissionTable(predictions));
  }
}

export const fashionMnistRegistration: CompetitionRegistration = {
  name: FASHION_MNIST_SLUG,
  description: 'Fashion-MNIST from the IDX files (Debian dataset-fashion-mnist), 10-class accuracy',
  defaults: DEFAULT_CONFIG,
  slugs: { [FASHION_MNIST_SLUG]: {} },
  create: (options = {}) => new FashionMnist({ ...DEFAULT_CONFIG, ...options }),
};
