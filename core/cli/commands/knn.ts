import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { Item } from '../../contracts/competition.js';
import { initEngine } from '../../engine/backend.js';
import { UserError } from '../../errors.js';
import { fileSystemError } from '../../io/atomic-write.js';
import { EmbeddingsWriter, inShard, parseShard, readEmbeddings, type Shard } from '../../search/embeddings-file.js';
import { searchNeighbours } from '../../search/neighbours.js';
import { VectorIndex } from '../../search/vector-index.js';
import { log } from '../../log.js';
import { loadModel } from '../../models/io.js';
import { embedInChunks, modelInputs, type ModelInputs } from '../../pipeline/model-inputs.js';
import { findCompetition } from '../../pipeline/prepare.js';
import { modelDir } from '../../pipeline/train-models.js';
import { readRunConfig, runConfigPath, type RunConfig } from '../../pipeline/run-config.js';
import { concatenated, ENSEMBLE, normalizeRows } from '../../pipeline/ensemble.js';
import { writeCsvAtomic } from '../../data/csv.js';
import { POSITIVE_INTEGER } from '../../pipeline/config-check.js';
import { numberFlag, pathFlag } from '../flags.js';

const SETS = ['train', 'test', 'index'] as const;
/** Items embedded by every model of an ensemble before their rows are combined and written. */
const EMBED_BLOCK = 4096;

/**
 * The models `simkit embed` embeds with, by name with their weights: `--model`, else what the run searched: its search
 * model, or its ensemble with the weights it tuned. An ensemble the run PCA-reduced is refused: the
 * projection was fitted on the run's training vectors and is not kept.
 */
export function embeddedModels(config: RunConfig, file: string, model?: string): Record<string, number> {
  const name = model ?? config.search ?? Object.keys(config.models)[0]!;
  if (name === ENSEMBLE && config.ensemble) {
    const names = Object.keys(config.ensemble.models);
    if (config.ensemble.pca)
      throw new UserError(
        `${file}: the run searched an ensemble PCA-reduced to ${config.ensemble.pca.dimension} dimensions, a ` +
          'projection fitted on its training vectors that the run does not keep, so its vectors cannot be rebuilt',
        `embed one of its models with --model ${names.join('|')}, or rerun with ensemble.pca: null`,
      );
    const tuned = (member: string) => config.tuned?.[`${ENSEMBLE}.${member}`];
    return Object.fromEntries(
      names.map((member) => [
        member,
        typeof tuned(member) === 'number' ? (tuned(member) as number) : config.ensemble!.models[member]!,
      ]),
    );
  }
  if (!config.models[name])
    throw new UserError(`${file} has no model "${name}"`, `its models: ${Object.keys(config.models).join(', ')}`);
  return { [name]: 1 };
}

interface LoadedModel {
  readonly model: Awaited<ReturnType<typeof loadModel>>;
  readonly inputs: ModelInputs;
  readonly dim: number;
  readonly weight: number;
}

/**
 * The items' vectors written to `out` in blocks: one model's as it embeds them; several models' (an ensemble) each
 * times its weight, side by side, L2-normalised, as the run searched them.
 */
async function writeEmbeddings(
  items: readonly Item[],
  models: readonly LoadedModel[],
  out: string,
  meta: { readonly run: string; readonly shard?: Shard },
): Promise<void> {
  const width = models.reduce((sum, { dim }) => sum + dim, 0);
  const writer = EmbeddingsWriter.open(out, width, meta);
  try {
    for (let start = 0; start < items.length; start += EMBED_BLOCK) {
      const block = items.slice(start, start + EMBED_BLOCK);
      const parts = [];
      for (const { model, inputs, dim, weight } of models) {
        const vectors = new Float32Array(block.length * dim);
        await embedInChunks(model, block, inputs, (first, chunk) => vectors.set(chunk, first * dim));
        parts.push({ vectors, dim, weight });
      }
      const rows = parts.length === 1 ? parts[0]!.vectors : normalizeRows(concatenated(parts, block.length), width);
      writer.append(
        block.map((item) => item.id),
        rows,
      );
    }
    const header = writer.close();
    log.info(`embedded ${header.count} items (dim ${header.dim}) into ${out}`);
  } catch (error) {
    writer.abort();
    throw fileSystemError(out, error);
  }
}

export function registerKnn(program: Command, context: CliContext): void {
  program
    .command('embed')
    .description("embed a competition's items with one of a trained run's models into an embeddings file")
    .argument('<competition>', 'slug or short name')
    .requiredOption('--run <dir>', 'output directory of `simkit run` (holds config.json and run/<model>/model)')
    .option('--model <name>', "the run's model to embed with (default: what the run searched, its ensemble included)")
    .option('--data <dir>', "the competition's data (default: <run>/sample)", pathFlag)
    .option('--set <set>', SETS.join('|'), 'test')
    .option('--shard <i/n>', 'embed only items i, i+n, i+2n, … (for splitting work between processes)')
    .requiredOption('--out <file>', 'embeddings file to write', pathFlag)
    .option('--strict', 'an unreadable image fails the command instead of being embedded as a blank one')
    .action(
      async (
        name: string,
        options: {
          run: string;
          model?: string;
          data?: string;
          set: string;
          shard?: string;
          out: string;
          strict?: boolean;
        },
      ) => {
        if (!(SETS as readonly string[]).includes(options.set))
          throw new UserError(`unknown set "${options.set}"`, `choose one of: ${SETS.join(', ')}`);
        const shard = options.shard ? parseShard(options.shard) : undefined;
        await initEngine();
        const app = await context.simkit();
        const { competition } = findCompetition(app, name);
        const runOut = resolve(options.run);
        const config = await readRunConfig(runOut);
        if (config.competition !== competition.alias)
          throw new UserError(
            `${runConfigPath(runOut)} is a run of ${config.competition}, not of ${competition.alias}`,
            `embed with \`simkit embed ${config.competition}\``,
          );
        const members = embeddedModels(config, runConfigPath(runOut), options.model);
        const dataDir = resolve(options.data ?? join(runOut, 'sample'));
        const items: readonly Item[] =
          options.set === 'train'
            ? await competition.readTrain(dataDir)
            : options.set === 'test'
              ? (await competition.readTest(dataDir)).queries
              : ((await competition.readTest(dataDir)).index ?? []);
        const selected = items.filter((_, position) => inShard(shard, position));
        if (selected.length === 0)
          throw new UserError(
            `the ${options.set} set of ${competition.alias} in ${dataDir} has no items${shard ? ` in shard ${options.shard}` : ''}: nothing to embed`,
            options.set === 'index'
              ? `${competition.alias} has no separate index set; embed --set test or train`
              : undefined,
            1,
          );
        const loaded: LoadedModel[] = [];
        try {
          for (const [modelName, weight] of Object.entries(members)) {
            const spec = config.models[modelName]!;
            const inputs = modelInputs(app, competition, modelName, spec, options.strict);
            const model = await loadModel(join(modelDir(join(runOut, 'run'), modelName), 'model'));
            loaded.push({ model, inputs, dim: spec.embeddingSize, weight });
          }
          await writeEmbeddings(selected, loaded, options.out, { run: runOut, shard });
        } finally {
          for (const { model } of loaded) model.dispose();
        }
      },
    );

  program
    .command('index')
    .description('build a FAISS index from an embeddings file')
    .requiredOption('--embeddings <file>', 'embeddings file (simkit embed)')
    .option('--factory <string>', 'faiss factory string: Flat (exact inner product), HNSW32, IVF1024,Flat, …', 'Flat')
    .requiredOption('--out <file>', 'index file to write (plus a .json sidecar with the ids)')
    .action((options: { embeddings: string; factory: string; out: string }) => {
      const { header, ids, vectors } = readEmbeddings(options.embeddings);
      const index = VectorIndex.create(header.dim, options.factory);
      index.train(vectors);
      index.add(ids, vectors);
      index.write(options.out);
      log.info(`indexed ${ids.length} vectors (dim ${header.dim}, ${options.factory}) into ${options.out}`);
    });

  program
    .command('search')
    .description('k nearest neighbours of query embeddings in an index, as CSV')
    .requiredOption('--index <file>', 'index file (simkit index)')
    .requiredOption('--queries <file>', 'embeddings file of the queries')
    .option('--k <n>', 'neighbours per query', numberFlag(POSITIVE_INTEGER), 10)
    .option('--exclude-self', 'drop the neighbour whose id equals the query id')
    .requiredOption('--out <file>', 'CSV: query_id, neighbour ids, similarities (space-separated, best first)')
    .action(async (options: { index: string; queries: string; k: number; excludeSelf?: boolean; out: string }) => {
      const index = VectorIndex.read(options.index);
      const { header, ids, vectors } = readEmbeddings(options.queries);
      if (header.dim !== index.dim)
        throw new UserError(`queries have dimension ${header.dim} but the index has ${index.dim}`);
      const rows = searchNeighbours(index, ids, vectors, { k: options.k, excludeSelf: options.excludeSelf });
      await writeCsvAtomic(
        options.out,
        ['query_id', 'neighbours', 'similarities'],
        rows.map((row, q) => [
          ids[q]!,
          row.indices.map((i) => index.ids[i]!).join(' '),
          row.similarities.map((s) => s.toFixed(6)).join(' '),
        ]),
      );
      log.info(`searched ${ids.length} queries (k ${options.k}) into ${options.out}`);
    });
}
