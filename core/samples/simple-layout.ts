import { join } from 'node:path';
import { SAMPLE_SOLUTION_FILE, SAMPLE_SUBMISSION_FILE, type TaskKind } from '../contracts/competition.js';
import { hashedUsage } from '../competition/adapter.js';
import { Random } from '../random.js';
import type { TaskStrategy } from '../contracts/task.js';
import { Registry } from '../di/registry.js';
import { TASKS } from '../tasks/index.js';
import { writeCsvAtomic } from '../data/csv.js';
import { classSizes, hexId, renderPictures } from './labelled.js';

const firstHeldOut = (_heldOutClass: boolean, first: boolean) => (first ? 'test' : 'train');
/**
 * The set each task's sample puts an item in, given whether its class is held out (a quarter of the
 * classes) and whether it is its class's first item.
 */
const SAMPLE_SET: Readonly<Record<TaskKind, (heldOutClass: boolean, first: boolean) => 'train' | 'test' | 'index'>> = {
  match: (heldOutClass) => (heldOutClass ? 'test' : 'train'),
  retrieve: (heldOutClass, first) => (!heldOutClass ? 'train' : first ? 'test' : 'index'),
  classify: firstHeldOut,
  recognize: firstHeldOut,
  multilabel: firstHeldOut,
};

/**
 * The scaffold's simple layout: `train.csv` (`id,label`) with `train_images/<id>.jpg`, and
 * `test.csv` (`id`) with `test_images/<id>.jpg` (and for `retrieve` the searched set `index.csv`
 * with `index_images/`); the hidden truth goes to solution.csv with the submission's columns.
 * `match` samples put whole classes in the test set (matched among themselves); `retrieve` puts a
 * quarter of the classes in the index, one query each; the other tasks hold out one image per class.
 * With an `unknownLabel`, a dozen individuals are photographed once: half in train.csv under their
 * own class (never under the unknown label), half in the test set, whose truth is the unknown label.
 * Kaggle's sample_submission.csv answers every row alike: the first class (with confidence 1 where
 * the task writes one), a posting's own id (match), nothing (retrieve).
 */
export async function generateSimpleLayoutSample(
  dir: string,
  seed: number,
  task: TaskKind,
  columns: readonly [string, string],
  unknownLabel?: string,
): Promise<void> {
  const random = new Random(seed);
  const classes = 24;
  const sizes = classSizes(random, classes, 3, 6);
  const train: string[][] = [];
  const test: { id: string; label: string }[] = [];
  const index: { id: string; label: string }[] = [];
  const pictures = [];
  for (let c = 0; c < classes; c++) {
    const label = `class_${c}`;
    for (let i = 0; i < sizes[c]!; i++) {
      const id = hexId(random, 12);
      const set = SAMPLE_SET[task](c % 4 === 3, i === 0);
      pictures.push({ path: join(`${set}_images`, `${id}.jpg`), motifIndex: c * 11 });
      if (set === 'train') train.push([id, label]);
      else (set === 'test' ? test : index).push({ id, label });
    }
  }
  if (unknownLabel) {
    for (let u = 0; u < 12; u++) {
      const id = hexId(random, 12);
      const inTest = u % 2 === 0;
      pictures.push({ path: join(`${inTest ? 'test' : 'train'}_images`, `${id}.jpg`), motifIndex: 500 + u * 7 });
      if (inTest) test.push({ id, label: unknownLabel });
      else train.push([id, `single_${u}`]);
    }
  }
  await renderPictures(dir, pictures, random);
  await writeCsvAtomic(join(dir, 'train.csv'), ['id', 'label'], train);
  await writeCsvAtomic(
    join(dir, 'test.csv'),
    ['id'],
    test.map((t) => [t.id]),
  );
  if (index.length > 0)
    await writeCsvAtomic(
      join(dir, 'index.csv'),
      ['id'],
      index.map((t) => [t.id]),
    );
  // The hidden truth is what the task's strategy writes for a validation split.
  const asItem = (t: { id: string; label: string }) => ({ id: t.id, labels: [t.label], extra: {} });
  const sets = { truth: test.map(asItem), index: index.map(asItem) };
  // The scaffold's layouts are those of the built-in tasks, whose strategies write their truth.
  const strategy = new Registry<TaskStrategy>('task', TASKS).create(task);
  const rows = sets.truth.map((item) => {
    const { cell, usage } = strategy.solutionCell(item, sets);
    return [item.id, cell, usage ?? hashedUsage(item)];
  });
  await writeCsvAtomic(join(dir, SAMPLE_SOLUTION_FILE), [...columns, 'Usage'], rows);
  const answer = (id: string) =>
    task === 'match' ? id : task === 'retrieve' ? '' : task === 'recognize' ? 'class_0 1' : 'class_0';
  await writeCsvAtomic(
    join(dir, SAMPLE_SUBMISSION_FILE),
    columns,
    test.map((t) => [t.id, answer(t.id)]),
  );
}
