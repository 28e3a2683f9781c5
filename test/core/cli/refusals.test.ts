// Every bad input, flag and file is refused early and clearly: one table of cases, each with its
// input, the exit code, a fragment of the message, and the files that must not exist afterwards.
// Every case also checks that no internal error (exit 3) or stack trace is shown and that no
// temporary file is left behind.
import { execFile, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../core/engine/backend.js';
import { EmbeddingsWriter } from '../../../core/search/embeddings-file.js';
import { VectorIndex } from '../../../core/search/vector-index.js';
import { Leaderboard } from '../../../core/leaderboard/leaderboard.js';
import type { CompetitionConfig, ImageModelConfig } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { saveModel } from '../../../core/models/io.js';
import { effectiveConfig } from '../../../core/pipeline/prepare.js';
import { writeRunConfig } from '../../../core/pipeline/run-config.js';
import { Checkpoints } from '../../../core/training/checkpoint.js';
import { competition } from '../../competitions/helpers.js';
import { STACK_LINE, simkitInProcess, temporaries, type CliResult } from './in-process.js';
import { createHash } from 'node:crypto';

const root = mkdtempSync(join(tmpdir(), 'simkit-reliability-'));
const cache = join(root, 'cache');
const samples = join(root, 'samples');
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Scene {
  readonly args: readonly string[];
  readonly env?: Record<string, string | undefined>;
  /**
   * Runs the command in a child process through bash instead, with its streams as this wraps it
   * (`cli` is the quoted command line): `${cli} | head -1; exit ${PIPESTATUS[0]}`.
   */
  readonly shell?: (cli: string) => string;
}

interface Case {
  readonly name: string;
  /** Prepares the case's folder (the working directory) and returns the command line. */
  readonly setup: (dir: string) => Scene | Promise<Scene>;
  readonly exit: number;
  /** A fragment of stderr (or of stdout for `stdout`). */
  readonly message: string | RegExp;
  readonly stdout?: string | RegExp;
  /** Paths, relative to the case's folder, that must not exist afterwards. */
  readonly absent?: readonly string[];
  /** Paths that must exist afterwards (what a failed step must not lose). */
  readonly present?: readonly string[];
  /** Files whose bytes must be the same afterwards as when the setup left them. */
  readonly unchanged?: readonly string[];
  /** Further checks of the case's folder afterwards. */
  readonly check?: (dir: string) => void;
}

/** A copy of a competition's embedded sample in `dir/data`. */
async function sample(name: string, dir: string): Promise<string> {
  const source = join(samples, name);
  if (!existsSync(source)) await (await competition(name)).generateSample(source, 42);
  const data = join(dir, 'data');
  cpSync(source, data, { recursive: true });
  return data;
}

/** Rewrites line `line` (1 = header) of a CSV with `change`. */
function editLine(file: string, line: number, change: (text: string) => string): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[line - 1] = change(lines[line - 1]!);
  writeFileSync(file, lines.join('\n'));
}

/** A smaller image model (the residual CNN from scratch, not the default pretrained network): hotels in seconds. */
const SMALL_IMAGE_MODEL =
  'models:\n  image: { imageSize: 24, batchSize: 32, embeddingSize: 16, backbone: { name: residual-cnn } }\n';

const RUN_OUTPUTS = ['out/submission.csv', 'out/run/image/checkpoints', 'out/run/image/model', 'out/config.json'];

async function shopeeRun(dir: string, edit: (data: string) => void, extra: string[] = []): Promise<Scene> {
  const data = await sample('shopee', dir);
  edit(data);
  return { args: ['run', 'shopee', '--data', data, '--out', 'out', '--epochs', '1', ...extra] };
}

function leaderboardFile(dir: string, damage: (path: string) => void): string {
  const path = join(dir, 'board.sqlite');
  const board = Leaderboard.open(path);
  for (let i = 0; i < 20; i++)
    board.record({
      competition: 'hotel-id-2021-fgvc8',
      metric: 'MAP@5',
      higherIsBetter: true,
      score: i / 20,
      gitCommit: null,
    });
  board.close();
  damage(path);
  return path;
}

/** Query embeddings and a flat index of them in `dir`. */
function searchFiles(dir: string): { index: string; queries: string } {
  const queries = join(dir, 'queries.emb');
  const writer = EmbeddingsWriter.open(queries, 4);
  writer.append(['a', 'b', 'c'], Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]));
  writer.close();
  const index = VectorIndex.create(4);
  index.add(['x', 'y', 'z'], Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]));
  index.write(join(dir, 'gallery.index'));
  return { index: join(dir, 'gallery.index'), queries };
}

/** A checkpoint of `epoch` epochs of the image model in `<dir>/out/run/image` whose tensors are `values`. */
async function checkpoint(dir: string, epoch: number, values: number[]): Promise<string> {
  const runDir = join(dir, 'out', 'run', 'image');
  const tensor = tf.tensor1d(values);
  const state = {
    epoch,
    step: epoch,
    randomState: 1,
    history: [],
    best: null,
    epochsWithoutImprovement: 0,
    fingerprint: 'model[] head[]',
  };
  await new Checkpoints(runDir).write(state, {
    model: [{ name: 'w', tensor }],
    head: [],
    modelOptimizer: [],
    headOptimizer: [],
  });
  tensor.dispose();
  return join(runDir, 'checkpoints', `epoch-${String(epoch).padStart(4, '0')}`, 'tensors.bin');
}

const PLUGIN = `import { writeFileSync } from 'node:fs';
import { ContainerModule } from 'inversify';
writeFileSync(new URL('./plugin-ran', import.meta.url), 'yes');
export default new ContainerModule(() => {});
`;

function pluginFolder(dir: string): void {
  writeFileSync(join(dir, 'plugin.mjs'), PLUGIN);
  writeFileSync(join(dir, 'simkit.config.json'), JSON.stringify({ plugins: ['./plugin.mjs'] }));
}

const TSX = fileURLToPath(import.meta.resolve('tsx'));
const ENTRY = fileURLToPath(new URL('./entry.ts', import.meta.url));

/** `simkit <args>` in a child process, its streams wrapped by `shell` (a closed pipe, a full disk). */
function simkitInShell(
  args: readonly string[],
  shell: (cli: string) => string,
  options: { cwd: string; env: Record<string, string | undefined> },
): Promise<CliResult> {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const cli = [process.execPath, '--import', TSX, ENTRY, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', shell(cli)],
      { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: 240_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** The command's stdout (and stderr with `both`) read up to its first line, then closed, like `| head -1`. */
const firstLineOnly =
  (both = false) =>
  (cli: string) =>
    `${cli} ${both ? '2>&1 ' : ''}| head -1; exit \${PIPESTATUS[0]}`;

/** A pid no process has (a finished child's). */
function deadPid(): number {
  return spawnSync('true').pid;
}

/**
 * A config file `c.yaml` in `dir`: the small image model (the residual CNN unless `text` names a backbone) with `text`
 * (its own settings) after the small ones.
 */
function smallConfig(dir: string, text = ''): string {
  const backbone = text.includes('backbone:') ? '' : 'backbone: { name: residual-cnn }\n';
  const settings = `imageSize: 24\nbatchSize: 32\nembeddingSize: 16\n${backbone}${text}`;
  const indented = settings
    .split('\n')
    .map((line) => (line ? `    ${line}` : line))
    .join('\n');
  writeFileSync(join(dir, 'c.yaml'), `models:\n  image:\n${indented}`);
  return 'c.yaml';
}

/** Rewrites every data line of a CSV (after the header) with `change`, given the line and its position from 0. */
function editRows(file: string, change: (line: string, row: number) => string): void {
  const [header, ...rows] = readFileSync(file, 'utf8').trimEnd().split('\n');
  writeFileSync(file, `${[header, ...rows.map(change)].join('\n')}\n`);
}

/** `<dir>/out/config.json` of a hotels run with the default config, which it returns. */
async function hotelsRunConfig(dir: string): Promise<CompetitionConfig> {
  const config = await effectiveConfig(await Simkit.create(), { competition: 'hotels' });
  await writeRunConfig(join(dir, 'out'), { competition: 'hotels', seed: 1, ...config });
  return config;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

const CASES: Case[] = [
  // 1. A resumed run is the same run (the trainer's side: test/reliability/resume.test.ts).
  {
    name: '--resume with fewer --epochs than the checkpoint has trained',
    setup: async (dir) => {
      await checkpoint(dir, 3, [1, 2]);
      return { args: ['train', 'fashion-mnist', '--out', 'out', '--resume', '--epochs', '2'] };
    },
    exit: 2,
    message: new RegExp(
      String.raw`cannot resume 2 epoch\(s\): the checkpoint in .*out/run/image/checkpoints has already trained 3\n` +
        String.raw` {2}fix: resume with --epochs 3 or more, or start afresh without --resume`,
    ),
    absent: ['out/run/image/model', 'out/config.json'],
  },

  // 2. Numeric flags and config values.
  ...['abc', '0', '-3', '2.5', '3abc', ''].map((value): Case => ({
    name: `run --epochs ${JSON.stringify(value)}`,
    setup: () => ({ args: ['run', 'hotels', '--out', 'out', '--epochs', value] }),
    exit: 2,
    message: /--epochs <n>.*expected an integer ≥ 1/,
    absent: ['out'],
  })),
  ...['abc', 'NaN', '-1', '1.5', '99999999999'].map((value): Case => ({
    name: `train --seed ${value}`,
    setup: () => ({ args: ['train', 'hotels', '--out', 'out', '--seed', value] }),
    exit: 2,
    message: /--seed <n>.*expected an integer ≥ 0/,
    absent: ['out'],
  })),
  {
    name: 'search --k 3abc',
    setup: (dir) => {
      const { index, queries } = searchFiles(dir);
      return { args: ['search', '--index', index, '--queries', queries, '--k', '3abc', '--out', 'n.csv'] };
    },
    exit: 2,
    message: /--k <n>.*expected an integer ≥ 1/,
    absent: ['n.csv'],
  },
  {
    name: 'a config file with epochs: 0',
    setup: (dir) => {
      writeFileSync(join(dir, 'c.yaml'), 'models:\n  image:\n    epochs: 0\n');
      return { args: ['run', 'hotels', '--out', 'out', '--config', 'c.yaml'] };
    },
    exit: 1,
    message: /c\.yaml \(models\.image\.epochs\): expected an integer ≥ 1, got 0/,
    absent: ['out/run', 'out/submission.csv'],
  },
  {
    name: 'a config file in the form before named models (top-level image keys, textModel)',
    setup: (dir) => {
      writeFileSync(join(dir, 'c.yaml'), 'epochs: 3\nimageSize: 48\ntextModel:\n  epochs: 2\n');
      return { args: ['run', 'shopee', '--out', 'out', '--config', 'c.yaml'] };
    },
    exit: 1,
    message: new RegExp(
      String.raw`c\.yaml \(epochs\): epochs, imageSize, textModel now belong to a named model; ` +
        String.raw`write \{"models":\{"image":\{"epochs":3,"imageSize":48\},"text":\{"input":"text","epochs":2\}\}\}`,
    ),
    absent: ['out/run', 'out/sample'],
  },
  {
    name: 'a post-processor reading a model the config does not have',
    setup: (dir) => {
      writeFileSync(
        join(dir, 'c.json'),
        JSON.stringify({ postProcessors: [{ name: 'model-match', options: { model: 'title' } }], tune: {} }),
      );
      return { args: ['run', 'shopee', '--out', 'out', '--config', 'c.json'] };
    },
    exit: 2,
    message: /post-processor model-match reads model "title", which the config does not have[^]*models: image, text/,
    absent: ['out/run', 'out/sample'],
  },
  {
    name: 'a config file with a negative learning rate for the text model',
    setup: (dir) => {
      writeFileSync(join(dir, 'c.json'), JSON.stringify({ models: { text: { learningRate: -0.1 } } }));
      return { args: ['run', 'shopee', '--out', 'out', '--config', 'c.json'] };
    },
    exit: 1,
    message: /c\.json \(models\.text\.learningRate\): expected a number > 0/,
    absent: ['out/run'],
  },
  {
    name: 'a train config file with seed 1.5',
    setup: (dir) => {
      writeFileSync(join(dir, 't.yaml'), 'competition: hotels\nseed: 1.5\n');
      return { args: ['train', '--config', 't.yaml'] };
    },
    exit: 1,
    message: /t\.yaml \(seed\): expected an integer ≥ 0/,
    absent: ['output'],
  },
  {
    name: '--epochs reaches every model',
    setup: () => ({ args: ['run', 'shopee', '--epochs', '2', '--print-config'] }),
    exit: 0,
    message: '',
    stdout: /"image": \{[^]*"epochs": 2,[^]*"text": \{[^]*"epochs": 2,/,
  },

  // 3. A leaderboard that cannot be used names its file and says what to do.
  ...(
    [
      [
        'random bytes',
        (path: string) => writeFileSync(path, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 251))),
      ],
      ['truncated', (path: string) => truncateSync(path, 3000)],
      [
        'an overwritten header',
        (path: string) => {
          const bytes = readFileSync(path);
          bytes.fill(0x41, 0, 100);
          writeFileSync(path, bytes);
        },
      ],
      [
        'a directory',
        (path: string) => {
          rmSync(path);
          mkdirSync(path);
        },
      ],
      [
        'a foreign schema',
        (path: string) => {
          rmSync(path);
          const db = new Database(path);
          db.exec('CREATE TABLE runs (id INTEGER, name TEXT)');
          db.close();
        },
      ],
    ] as const
  ).map(([what, damage]): Case => ({
    name: `leaderboard file: ${what}`,
    setup: (dir) => ({ args: ['leaderboard', '--db', leaderboardFile(dir, damage)] }),
    exit: 1,
    message: /the leaderboard .*board\.sqlite cannot be used: [^]*fix: move it aside/,
  })),
  {
    name: 'score --record into a damaged leaderboard still prints the score first',
    setup: (dir) => {
      writeFileSync(join(dir, 'solution.csv'), 'image,hotel_id,Usage\na,1,Public\nb,2,Private\n');
      writeFileSync(join(dir, 'submission.csv'), 'image,hotel_id\na,1\nb,2\n');
      const board = leaderboardFile(dir, (path) => writeFileSync(path, 'not a database at all, just text'.repeat(200)));
      return {
        args: [
          'score',
          '--competition',
          'hotels',
          '--solution',
          'solution.csv',
          '--submission',
          'submission.csv',
          '--record',
          '--db',
          board,
        ],
      };
    },
    exit: 1,
    message: /board\.sqlite cannot be used: it is not an SQLite database/,
    stdout: /score +1\.000000/,
  },

  {
    name: 'a whole run into a damaged leaderboard keeps its submission and summary (and one missing image is one line)',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      const [, first] = readFileSync(join(data, 'train.csv'), 'utf8').split('\n');
      const [image, chain] = first!.split(',');
      rmSync(join(data, 'train_images', chain!, image!));
      writeFileSync(join(dir, 'small.yaml'), SMALL_IMAGE_MODEL);
      const board = leaderboardFile(dir, (path) => truncateSync(path, 1000));
      return {
        args: ['run', 'hotels', '--data', data, '--out', 'out', '--epochs', '1', '--config', 'small.yaml'],
        env: { SIMKIT_LEADERBOARD: board },
      };
    },
    exit: 1,
    message: new RegExp(
      String.raw`^warning: 1 of \d+ train image files \(\d+\.\d %\) are missing \(first: [^\n]*\); ` +
        String.raw`they are left out \(list in [^\n]*missing-images\.txt\)$[^]*board\.sqlite cannot be used`,
      'm',
    ),
    stdout: /hotel-id-2021-fgvc8: MAP@5[^]*submission .*out\/submission\.csv[^]*not on the leaderboard/,
    present: ['out/submission.csv', 'out/config.json', 'out/run/report.html', 'out/run/missing-images.txt'],
  },

  {
    name: 'leaderboard --repair moves a damaged file aside and keeps the rows that can be read',
    setup: (dir) => ({
      args: ['leaderboard', '--repair', '--db', leaderboardFile(dir, (path) => truncateSync(path, 8192))],
    }),
    exit: 0,
    message:
      /moved .*board\.sqlite to .*board\.sqlite\.broken-[^;]*; the new leaderboard holds the \d+ row\(s\) that could be read/,
    present: ['board.sqlite'],
  },

  // 4. Data checked before any training, for every table and folder.
  {
    name: 'a few duplicate posting_ids in train.csv',
    setup: (dir) =>
      shopeeRun(dir, (data) =>
        editLine(join(data, 'train.csv'), 5, () => readFileSync(join(data, 'train.csv'), 'utf8').split('\n')[2]!),
      ),
    exit: 1,
    message: /train\.csv:5 \(posting_id\): train id "[^"]+" appears again \(first on line 3\)/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'a duplicate posting_id in test.csv',
    setup: (dir) =>
      shopeeRun(dir, (data) =>
        editLine(
          join(data, 'test.csv'),
          3,
          (line) =>
            `${readFileSync(join(data, 'test.csv'), 'utf8').split('\n')[1]!.split(',')[0]}${line.slice(line.indexOf(','))}`,
        ),
      ),
    exit: 1,
    message: /test\.csv:3 \(posting_id\): test id "[^"]+" appears again \(first on line 2\)/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'an empty train.csv',
    setup: (dir) => shopeeRun(dir, (data) => writeFileSync(join(data, 'train.csv'), '')),
    exit: 1,
    message: /train\.csv: has no data rows/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'a header-only test.csv',
    setup: (dir) =>
      shopeeRun(dir, (data) => writeFileSync(join(data, 'test.csv'), 'posting_id,image,image_phash,title\n')),
    exit: 1,
    message: /test\.csv: has no data rows/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'an empty test image folder (whales)',
    setup: async (dir) => {
      const data = await sample('whales', dir);
      rmSync(join(data, 'test'), { recursive: true });
      mkdirSync(join(data, 'test'));
      return { args: ['run', 'whales', '--data', data, '--out', 'out', '--epochs', '1'] };
    },
    exit: 1,
    message: /no test items/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'bytes that are not UTF-8 in train.csv',
    setup: (dir) =>
      shopeeRun(dir, (data) => {
        const file = join(data, 'train.csv');
        const lines = readFileSync(file).toString('latin1').split('\n');
        lines[3] = lines[3]!.replace(/,([^,]*),([^,]*)$/, ',caf\xe9 $1,$2');
        writeFileSync(file, Buffer.from(lines.join('\n'), 'latin1'));
      }),
    exit: 1,
    // The hint names what to do with the file, not an encoding option the CLI does not have.
    message:
      /train\.csv:4: is not valid UTF-8 \(byte \d+ of the line\); save it as UTF-8 \(a Latin-1 file: `iconv -f latin1 -t utf-8 /,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'a missing train_images folder',
    setup: (dir) => shopeeRun(dir, (data) => rmSync(join(data, 'train_images'), { recursive: true })),
    exit: 1,
    message: /of \d+ train image files \(100\.0 %\) are missing[^]*the folder .*train_images does not exist/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'one missing image with --max-bad-images 0',
    setup: (dir) =>
      shopeeRun(
        dir,
        (data) =>
          rmSync(
            join(data, 'train_images', readFileSync(join(data, 'train.csv'), 'utf8').split('\n')[1]!.split(',')[1]!),
          ),
        ['--max-bad-images', '0'],
      ),
    exit: 1,
    message: /1 of \d+ train image files .* are missing[^]*--max-bad-images/,
    absent: RUN_OUTPUTS,
  },
  {
    name: '--max-bad-images 1.5',
    setup: () => ({ args: ['run', 'hotels', '--max-bad-images', '1.5'] }),
    exit: 2,
    message: /--max-bad-images <share>.*expected a number ≥ 0 and ≤ 1/,
    absent: ['output'],
  },

  {
    name: 'a third of the training images cut off after their header',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      const rows = readFileSync(join(data, 'train.csv'), 'utf8').trim().split('\n').slice(1);
      rows
        .filter((_, i) => i % 3 === 0)
        .forEach((row) => {
          const [image, chain] = row.split(',');
          // A readable header and a cut-off body: only decoding finds out.
          truncateSync(join(data, 'train_images', chain!, image!), 400);
        });
      writeFileSync(join(dir, 'small.yaml'), SMALL_IMAGE_MODEL);
      return { args: ['train', 'hotels', '--data', data, '--out', 'out', '--epochs', '2', '--config', 'small.yaml'] };
    },
    exit: 1,
    message: /epoch 1: \d+ of \d+ training images could not be read, more than 10 %\n {2}fix: .*--max-bad-images/,
    absent: ['out/run/image/model', 'out/config.json', 'out/run/image/checkpoints/epoch-0001'],
  },

  // 5. Paths that leave the data directory.
  {
    name: 'an image cell ../../../outside.jpg',
    setup: async (dir) => {
      writeFileSync(join(dir, 'outside.jpg'), 'x');
      return shopeeRun(dir, (data) =>
        editLine(join(data, 'train.csv'), 2, (line) => line.replace(/^([^,]*),[^,]*,/, '$1,../../outside.jpg,')),
      );
    },
    exit: 1,
    message: /train\.csv:2 \(image\): the path "[^"]*outside\.jpg" leads outside the data directory/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'an absolute image path in hotels train.csv',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      editLine(join(data, 'train.csv'), 2, (line) => line.replace(/^[^,]*/, '/etc/passwd'));
      return { args: ['train', 'hotels', '--data', data, '--out', 'out', '--epochs', '1'] };
    },
    exit: 1,
    message: /train\.csv:2 \(image\): the path .* leads outside the data directory/,
    absent: RUN_OUTPUTS,
  },

  // 6. --strict exists wherever the "replaced by blank ones" warning can appear.
  ...['run', 'train'].map((command): Case => ({
    name: `${command} --strict with a missing image`,
    setup: async (dir) => {
      const scene = await shopeeRun(
        dir,
        (data) =>
          rmSync(
            join(data, 'test_images', readFileSync(join(data, 'test.csv'), 'utf8').split('\n')[1]!.split(',')[1]!),
          ),
        ['--strict'],
      );
      return { args: [command, ...scene.args.slice(1)] };
    },
    exit: 1,
    message: /1 of \d+ test image files .* are missing/,
    absent: RUN_OUTPUTS,
  })),

  // 7. Odd files.
  ...(['solution', 'submission'] as const).map((role): Case => ({
    name: `a directory as --${role}`,
    setup: (dir) => {
      writeFileSync(join(dir, 'file.csv'), 'image,hotel_id,Usage\na,1,Public\n');
      mkdirSync(join(dir, 'folder.csv'));
      const [solution, submission] = role === 'solution' ? ['folder.csv', 'file.csv'] : ['file.csv', 'folder.csv'];
      return { args: ['score', '--competition', 'hotels', '--solution', solution, '--submission', submission] };
    },
    exit: 2,
    message: `${role} folder.csv is not a file`,
  })),
  {
    name: 'a directory as search --out',
    setup: (dir) => {
      const { index, queries } = searchFiles(dir);
      mkdirSync(join(dir, 'neighbours.csv'));
      return { args: ['search', '--index', index, '--queries', queries, '--out', 'neighbours.csv'] };
    },
    exit: 2,
    message: /cannot write neighbours\.csv: it is a directory/,
  },
  {
    name: 'a 300-character slug for simkit new',
    setup: () => ({ args: ['new', 'competition', 'a'.repeat(300), '--root', '.'] }),
    exit: 2,
    message: /name is too long/,
    absent: [`competitions/${'a'.repeat(300)}`],
  },
  {
    name: 'a GAP confidence of 1e309',
    setup: (dir) => {
      writeFileSync(join(dir, 'solution.csv'), 'id,landmarks,Usage\na,1,Public\nb,2,Private\n');
      writeFileSync(join(dir, 'submission.csv'), 'id,landmarks\na,1 1e309\nb,2 0.5\n');
      return {
        args: ['score', '--competition', 'landmarks', '--solution', 'solution.csv', '--submission', 'submission.csv'],
      };
    },
    exit: 1,
    message: /line 2, column landmarks: .*finite confidence/,
  },

  // 8. Corrupt artefacts are named, not read as good ones.
  {
    name: 'a FAISS index with overwritten bytes',
    setup: (dir) => {
      const { index, queries } = searchFiles(dir);
      const bytes = readFileSync(index);
      bytes.fill(0x7f, bytes.length - 24, bytes.length - 8);
      writeFileSync(index, bytes);
      return { args: ['search', '--index', index, '--queries', queries, '--out', 'n.csv'] };
    },
    exit: 1,
    message: /gallery\.index: checksum mismatch/,
    absent: ['n.csv'],
  },
  {
    name: 'an embeddings file with a changed vector',
    setup: (dir) => {
      const { index, queries } = searchFiles(dir);
      const bytes = readFileSync(queries);
      bytes.writeFloatLE(0.5, bytes.indexOf(Buffer.from(Float32Array.from([1]).buffer)));
      writeFileSync(queries, bytes);
      return { args: ['search', '--index', index, '--queries', queries, '--out', 'n.csv'] };
    },
    exit: 1,
    message: /queries\.emb: checksum mismatch/,
    absent: ['n.csv'],
  },
  {
    name: 'a checkpoint whose weights are NaN',
    setup: async (dir) => {
      await checkpoint(dir, 1, [Number.NaN, 1]);
      return { args: ['train', 'fashion-mnist', '--out', 'out', '--resume', '--epochs', '2'] };
    },
    exit: 1,
    message: /epoch-0001\/tensors\.bin \(model\/0\): holds values that are not finite/,
    absent: ['out/run/image/model', 'out/config.json'],
  },
  {
    name: 'a checkpoint with changed bytes',
    setup: async (dir) => {
      const file = await checkpoint(dir, 1, [1, 2]);
      const bytes = readFileSync(file);
      bytes[0]! ^= 1;
      writeFileSync(file, bytes);
      return { args: ['train', 'fashion-mnist', '--out', 'out', '--resume', '--epochs', '2'] };
    },
    exit: 1,
    message: /epoch-0001\/tensors\.bin: checksum mismatch/,
    absent: ['out/run/image/model', 'out/config.json'],
  },

  {
    name: 'a saved model whose weights are NaN',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      await hotelsRunConfig(dir);
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
      model.setWeights(model.getWeights().map((w) => tf.fill(w.shape, Number.NaN)));
      await saveModel(model, join(dir, 'out', 'run', 'image', 'model'));
      model.dispose();
      return { args: ['embed', 'hotels', '--run', 'out', '--data', data, '--out', 'v.emb'] };
    },
    exit: 1,
    message: /out\/run\/image\/model\/weights\.bin \([^)]*\): holds values that are not finite/,
    absent: ['v.emb'],
  },

  // 9. Plugins from the current folder.
  {
    name: '--no-plugins loads nothing from the current folder',
    setup: (dir) => {
      pluginFolder(dir);
      return { args: ['--no-plugins', '--verbose', 'list', 'metrics'] };
    },
    exit: 0,
    message: /external plugins: none loaded/,
    absent: ['plugin-ran'],
  },
  {
    name: 'SIMKIT_NO_PLUGINS=1 loads nothing from the current folder',
    setup: (dir) => {
      pluginFolder(dir);
      return { args: ['list', 'metrics'], env: { SIMKIT_NO_PLUGINS: '1' } };
    },
    exit: 0,
    message: '',
    absent: ['plugin-ran'],
  },
  {
    name: '--verbose names each plugin and where it came from',
    setup: (dir) => {
      pluginFolder(dir);
      return { args: ['--verbose', 'list', 'metrics'] };
    },
    exit: 0,
    message: /external plugins: 1 loaded\n.*plugin .*plugin\.mjs from .*plugin\.mjs/,
    present: ['plugin-ran'],
  },
  {
    name: 'a broken simkit.config.json is ignored under --no-plugins',
    setup: (dir) => {
      writeFileSync(join(dir, 'simkit.config.json'), '{ not json');
      return { args: ['--no-plugins', 'list', 'metrics'] };
    },
    exit: 0,
    message: '',
  },
  // 10. A shared or reused output folder loses nothing (issue 27).
  {
    name: 'a second run into the same --out with another seed regenerates the sample whole and keeps a valid submission',
    setup: async (dir) => {
      const config = smallConfig(dir);
      const first = await simkitInProcess(
        ['run', 'whales', '--epochs', '1', '--seed', '3', '--out', 'out', '--config', config],
        { cwd: dir, env: { SIMKIT_LEADERBOARD: join(dir, 'leaderboard.sqlite'), SIMKIT_CACHE: cache } },
      );
      expect(first.code, first.stderr).toBe(0);
      // The first run was killed: its lock names a process that is gone.
      writeFileSync(join(dir, 'out', '.simkit.lock'), `${deadPid()}\n`);
      return { args: ['run', 'whales', '--epochs', '1', '--out', 'out', '--config', config] };
    },
    exit: 0,
    message: /taking over .*\.simkit\.lock: the run that held it \(process \d+\) is gone/,
    stdout: /sample test set \(hidden truth\) +\d\.\d{4}/,
    absent: ['out/.simkit.lock'],
    check: (dir) => {
      const sample = readdirSync(join(samples, 'whales', 'test')).length;
      expect(readdirSync(join(dir, 'out', 'sample', 'test'))).toHaveLength(sample);
      const rows = readFileSync(join(dir, 'out', 'submission.csv'), 'utf8')
        .trim()
        .split('\n');
      expect(rows).toHaveLength(sample + 1);
    },
  },
  {
    name: 'a run into an --out that another live run holds',
    setup: async (dir) => {
      await sample('whales', dir);
      mkdirSync(join(dir, 'out'));
      writeFileSync(join(dir, 'out', '.simkit.lock'), `${process.ppid}\n`);
      return { args: ['run', 'whales', '--data', 'data', '--epochs', '1', '--out', 'out'] };
    },
    exit: 2,
    message: /output folder .*out is in use by another simkit run \(process \d+, lock .*\.simkit\.lock\)/,
    absent: RUN_OUTPUTS,
    unchanged: ['out/.simkit.lock'],
  },
  {
    name: 'a fresh run that fails before its first checkpoint keeps the earlier checkpoints',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      await checkpoint(dir, 3, [1, 2]);
      const config = smallConfig(dir, 'learningRate: 1.0e+30\ntraining: { clipNorm: 0, warmupEpochs: 0 }\n');
      return { args: ['train', 'hotels', '--data', data, '--out', 'out', '--epochs', '2', '--config', config] };
    },
    exit: 2,
    message: /the loss became/,
    present: ['out/run/image/checkpoints/epoch-0003/tensors.bin', 'out/run/image/checkpoints/latest.json'],
    unchanged: ['out/run/image/checkpoints/latest.json'],
  },

  // 11. Degenerate data is refused before training, saying what the competition needs.
  {
    name: 'one class in train.csv (hotels)',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      editRows(join(data, 'train.csv'), (line) => line.replace(/^([^,]*,[^,]*),[^,]*/, '$1,10000'));
      return { args: ['run', 'hotels', '--data', data, '--out', 'out', '--epochs', '1'] };
    },
    exit: 1,
    message: /hold 1 class\(es\) \("10000"\) .*at least two classes/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'every whale labelled new_whale',
    setup: async (dir) => {
      const data = await sample('whales', dir);
      editRows(join(data, 'train.csv'), (line) => line.replace(/,.*$/, ',new_whale'));
      return { args: ['run', 'whales', '--data', data, '--out', 'out', '--epochs', '1'] };
    },
    exit: 1,
    message: /hold 0 class\(es\) .*labelled "new_whale", the unknown label, are no class to learn/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'every Shopee class a single posting',
    setup: (dir) =>
      shopeeRun(dir, (data) => editRows(join(data, 'train.csv'), (line, i) => line.replace(/,\d+$/, `,${900000 + i}`))),
    exit: 1,
    message: /each of the \d+ classes to train on has a single item/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'every Shopee test title empty',
    setup: (dir) =>
      shopeeRun(dir, (data) =>
        editRows(join(data, 'test.csv'), (line) => line.replace(/^([^,]*,[^,]*,[^,]*),.*$/, '$1,')),
      ),
    exit: 1,
    message: /every one of the \d+ test item\(s\) has an empty text/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'every whale test image unreadable',
    setup: async (dir) => {
      const data = await sample('whales', dir);
      for (const file of readdirSync(join(data, 'test'))) writeFileSync(join(data, 'test', file), 'not a JPEG');
      return { args: ['run', 'whales', '--data', data, '--out', 'out', '--epochs', '1'] };
    },
    exit: 1,
    message:
      /\d+ of \d+ test image files \(100\.0 %\) are missing or unreadable \(0 missing, \d+ not readable as images\)/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'a symbolic link in the data folder to an image outside it',
    setup: async (dir) => {
      const data = await sample('shopee', dir);
      const image = readFileSync(join(data, 'train.csv'), 'utf8').split('\n')[1]!.split(',')[1]!;
      cpSync(join(data, 'train_images', image), join(dir, 'outside.jpg'));
      rmSync(join(data, 'train_images', image));
      symlinkSync(join(dir, 'outside.jpg'), join(data, 'train_images', image));
      return { args: ['run', 'shopee', '--data', data, '--out', 'out', '--epochs', '1'] };
    },
    exit: 1,
    message:
      /train\.csv:2 \(image\): the path "train_images\/[^"]+" is a symbolic link .* to .*outside\.jpg, outside the data directory/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'a symbolic link in the whales test folder to an image outside it',
    setup: async (dir) => {
      const data = await sample('whales', dir);
      const [image] = readdirSync(join(data, 'test'));
      cpSync(join(data, 'test', image!), join(dir, 'outside.jpg'));
      rmSync(join(data, 'test', image!));
      symlinkSync(join(dir, 'outside.jpg'), join(data, 'test', image!));
      return { args: ['run', 'whales', '--data', data, '--out', 'out', '--epochs', '1'] };
    },
    exit: 1,
    message: /is a symbolic link to .*outside\.jpg, outside the folder/,
    absent: RUN_OUTPUTS,
  },

  // 12. Component options and config values out of range, before any work.
  ...(
    [
      [
        'subcenter-arcface with centres 0',
        'head: { name: subcenter-arcface, options: { centres: 0 } }',
        /head "subcenter-arcface" option centres: expected an integer ≥ 1, got 0/,
      ],
      [
        'an mlp with a hidden layer of -5 units',
        'backbone: { name: mlp, options: { hidden: [-5] } }',
        /backbone "mlp" option hidden: expected a list of numbers, each an integer ≥ 1, got \[-5\]/,
      ],
      [
        'dropout 2',
        'backbone: { name: residual-cnn, options: { dropout: 2 } }',
        /backbone "residual-cnn" option dropout: expected a number ≥ 0 and < 1, got 2/,
      ],
      [
        'crop.scale [2, 1]',
        'training: { augment: { crop: { scale: [2, 1] } } }',
        /\(models\.image\.training\.augment\.crop\.scale\): expected \[low, high\] with low ≤ high, each a number > 0 and ≤ 1, got \[2,1\]/,
      ],
      [
        'rotate "abc"',
        'training: { augment: { rotate: abc } }',
        /\(models\.image\.training\.augment\.rotate\): expected a number ≥ 0 and ≤ 180, got "abc"/,
      ],
      [
        'nt-xent temperature 0',
        'loss: { name: nt-xent, options: { temperature: 0 } }\nhead: { name: none }\nsampler: { name: none }',
        /loss "nt-xent" option temperature: expected a number > 0, got 0/,
      ],
      [
        'a learning rate of .inf',
        'learningRate: .inf',
        /\(models\.image\.learningRate\): expected a number > 0, got Infinity/,
      ],
      [
        'a learning rate of .nan',
        'learningRate: .nan',
        /\(models\.image\.learningRate\): expected a number > 0, got NaN/,
      ],
      [
        'pk 1000 classes × 1000 samples',
        'sampler: { name: pk, options: { classesPerBatch: 1000, samplesPerClass: 1000 } }',
        /a training batch of 1000000 image samples of 24×24×3 does not fit in the engine's 4 GiB of memory: at most about \d+ fit/,
      ],
    ] as const
  ).map(([what, yaml, message]): Case => ({
    name: `a config with ${what}`,
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      return {
        args: [
          'train',
          'hotels',
          '--data',
          data,
          '--out',
          'out',
          '--epochs',
          '1',
          '--config',
          smallConfig(dir, `${yaml}\n`),
        ],
      };
    },
    exit: 1,
    message,
    absent: ['out/run/image/model', 'out/run/image/checkpoints', 'out/config.json'],
  })),
  {
    name: 'an imageSize of 100000',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      writeFileSync(join(dir, 'c.yaml'), 'models:\n  image:\n    imageSize: 100000\n');
      return { args: ['train', 'hotels', '--data', data, '--out', 'out', '--epochs', '1', '--config', 'c.yaml'] };
    },
    exit: 1,
    message: /image inputs of 100000×100000×3 are too large to train on[^]*fix: use a smaller imageSize/,
    absent: ['out/run/image/model', 'out/run/image/checkpoints', 'out/config.json'],
  },
  {
    name: 'a JSON config that gives a key twice',
    setup: (dir) => {
      writeFileSync(join(dir, 'c.json'), '{\n  "epochs": 1,\n  "epochs": 50\n}\n');
      return { args: ['run', 'hotels', '--out', 'out', '--config', 'c.json'] };
    },
    exit: 1,
    message: /c\.json:3: a key appears twice in one object/,
    absent: ['out'],
  },

  // 13. Empty and odd flag values, and folders that are not what they should be.
  ...(['--out', '--data', '--config'] as const).map((flag): Case => ({
    name: `run ${flag} ''`,
    setup: () => ({ args: ['run', 'hotels', '--epochs', '1', flag, ''] }),
    exit: 2,
    message: new RegExp(`${flag} <[a-z]+>.*expected a path, got an empty value`),
    absent: ['sample', 'run', 'config.json', 'submission.csv', 'output'],
  })),
  {
    name: 'run --data /etc/passwd (a file)',
    setup: () => ({ args: ['run', 'hotels', '--epochs', '1', '--out', 'out', '--data', '/etc/passwd'] }),
    exit: 2,
    message: /data directory \/etc\/passwd is not a directory/,
    absent: RUN_OUTPUTS,
  },
  {
    name: 'report on a folder without run files',
    setup: (dir) => {
      mkdirSync(join(dir, 'empty'));
      return { args: ['report', 'empty'] };
    },
    exit: 2,
    message: /empty is not a run directory: it holds neither report\.json nor log\.jsonl/,
    absent: ['empty/report.html'],
  },
  {
    name: 'embed --set index for a competition without an index set',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      await hotelsRunConfig(dir);
      return { args: ['embed', 'hotels', '--run', 'out', '--data', data, '--set', 'index', '--out', 'v.emb'] };
    },
    exit: 1,
    message: /the index set of hotels in .* has no items: nothing to embed/,
    absent: ['v.emb'],
  },
  {
    name: 'embed onto a full disk',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      const image = (await hotelsRunConfig(dir)).models.image as ImageModelConfig;
      const model = tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [image.imageSize, image.imageSize, 3] }),
          tf.layers.dense({ units: image.embeddingSize }),
        ],
      });
      await saveModel(model, join(dir, 'out', 'run', 'image', 'model'));
      model.dispose();
      mkdirSync(join(dir, 'full'));
      return {
        args: ['embed', 'hotels', '--run', 'out', '--data', data, '--set', 'train', '--out', 'full/v.emb'],
        // A 16 KiB file system of its own (a mount namespace of an unprivileged user namespace).
        shell: (cli) => `unshare -rm bash -c "mount -t tmpfs -o size=16k tmpfs full && ${cli}"`,
      };
    },
    exit: 2,
    message: /cannot write full\/v\.emb: the disk is full \(ENOSPC\)/,
    absent: ['full/v.emb'],
  },
  {
    name: 'leaderboard --competition of a competition with no runs',
    setup: (dir) => ({ args: ['leaderboard', '--competition', 'nope', '--db', leaderboardFile(dir, () => {})] }),
    exit: 1,
    message: /no runs of "nope" on the leaderboard[^]*fix: its competitions: hotel-id-2021-fgvc8/,
  },
  {
    name: 'an image id ../../../etc/passwd (landmarks)',
    setup: async (dir) => {
      const data = await sample('landmarks', dir);
      editLine(join(data, 'train.csv'), 2, (line) => line.replace(/^[^,]*/, '../../../etc/passwd'));
      return { args: ['run', 'landmarks', '--data', data, '--out', 'out', '--epochs', '1'] };
    },
    exit: 1,
    message: /train\.csv:2 \(id\): the path "[^"]*etc\/passwd[^"]*" leads outside the data directory/,
    absent: RUN_OUTPUTS,
  },

  // 14. Closed and full output streams stop the printing, not the run.
  {
    name: 'leaderboard --format json into a closed pipe',
    setup: (dir) => ({
      args: ['leaderboard', '--format', 'json', '--db', leaderboardFile(dir, () => {})],
      shell: (cli) => `${cli} | true; exit \${PIPESTATUS[0]}`,
    }),
    exit: 0,
    message: '',
  },
  {
    name: 'leaderboard --format csv into a full disk',
    setup: (dir) => ({
      args: ['leaderboard', '--format', 'csv', '--db', leaderboardFile(dir, () => {})],
      shell: (cli) => `${cli} > /dev/full`,
    }),
    exit: 2,
    message: /simkit: cannot write stdout: the disk is full \(ENOSPC\)/,
  },
  {
    name: 'simkit run shopee | head -1 writes its submission and exits 0',
    setup: async (dir) => {
      const data = await sample('shopee', dir);
      // Shopee's image model is MobileNetV2, which takes 32 px at least.
      writeFileSync(join(dir, 'c.yaml'), 'models:\n  image: { imageSize: 32, batchSize: 32, embeddingSize: 16 }\n');
      return {
        args: ['run', 'shopee', '--data', data, '--out', 'out', '--epochs', '1', '--config', 'c.yaml'],
        shell: firstLineOnly(),
      };
    },
    exit: 0,
    message: '',
    stdout: /^shopee-product-matching: mean F1 \(higher is better\)\n$/,
    present: ['out/submission.csv', 'out/config.json', 'leaderboard.sqlite'],
  },
  {
    name: 'simkit run hotels 2>&1 | head -1 writes its submission and exits 0',
    setup: async (dir) => {
      const data = await sample('hotels', dir);
      return {
        args: ['run', 'hotels', '--data', data, '--out', 'out', '--epochs', '1', '--config', smallConfig(dir)],
        shell: firstLineOnly(true),
      };
    },
    exit: 0,
    message: '',
    stdout: /^.+\n$/,
    present: ['out/submission.csv', 'out/config.json', 'leaderboard.sqlite'],
  },
];

describe('every bad input, flag and file is refused early and clearly', () => {
  beforeAll(async () => {
    await initEngine('wasm');
    mkdirSync(samples, { recursive: true });
  });

  it.each(CASES.map((entry) => [entry.name, entry] as const))('%s', async (_, entry) => {
    const dir = mkdtempSync(join(root, 'case-'));
    const scene = await entry.setup(dir);
    const before = new Map((entry.unchanged ?? []).map((path) => [path, sha256(join(dir, path))]));
    const options = {
      cwd: dir,
      env: { SIMKIT_LEADERBOARD: join(dir, 'leaderboard.sqlite'), SIMKIT_CACHE: cache, ...scene.env },
    };
    const result = scene.shell
      ? await simkitInShell(scene.args, scene.shell, options)
      : await simkitInProcess(scene.args, options);
    const output = `exit ${result.code}\n--- stderr\n${result.stderr}\n--- stdout\n${result.stdout}`;
    expect(result.code, output).toBe(entry.exit);
    expect(result.stderr, output).toMatch(entry.message);
    if (entry.stdout) expect(result.stdout, output).toMatch(entry.stdout);
    expect(result.stderr).not.toMatch(/internal error/);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stdout).not.toMatch(STACK_LINE);
    for (const path of entry.absent ?? []) expect(existsSync(join(dir, path)), `${path} should not exist`).toBe(false);
    for (const path of entry.present ?? []) expect(existsSync(join(dir, path)), `${path} should exist`).toBe(true);
    for (const [path, hash] of before) expect(sha256(join(dir, path)), `${path} should be unchanged`).toBe(hash);
    entry.check?.(dir);
    expect(temporaries(dir)).toEqual([]);
  });
});
