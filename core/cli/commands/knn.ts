import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { Item } from '../../contracts/competition.js';
import { initEngine } from '../../engine/backend.js';
import { UserError } from '../../errors.js';
import { fileSystemError } from '../../io/atomic-write.js';
import { EmbeddingsWriter, inShard, parseShard, readEmbeddings } from '../../search/embeddings-file.js';
import { searchNeighbours } from '../../search/neighbours.js';
import { VectorIndex } from '../../search/vector-index.js';
import { log } from '../../log.js';
import { loadModel } from '../../models/io.js';
import { embedInChunks, modelInputs } from '../../pipeline/model-inputs.js';
import { findCompetition } from '../../pipeline/prepare.js';
import { modelDir } from '../../pipeline/train-models.js';
import { readRunConfig, runConfigPath } from '../../pipeline/run-config.js';
import { writeCsvAtomic } from '../../data/csv.js';
import { POSITIVE_INTEGER } from '../../pipeline/config-check.js';
import { numberFlag, pathFlag } from '../flags.js';

const SETS = ['train', 'test', 'index'] as const;

export function registerKnn(program: Command, context: CliContext): void {
  program
    .command('embed')
    .description("embed a competition's items with one of a trained run's models into an embeddings file")
    .argument('<competition>', 'slug or short name')
    .requiredOption('--run <dir>', 'output directory of `simkit run` (holds config.json and run/<model>/model)')
    .option('--model <name>', "the run's model to embed with (default: the search model)")
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
        const modelName = options.model ?? config.search ?? Object.keys(config.models)[0]!;
        const spec = config.models[modelName];
        if (!spec)
          throw new UserError(
            `${runConfigPath(runOut)} has no model "${modelName}"`,
            `its models: ${Object.keys(config.models).join(', ')}`,
          );
        const inputs = modelInputs(app, competition, modelName, spec, options.strict);
        const model = await loadModel(join(modelDir(join(runOut, 'run'), modelName), 'model'));
        const dim = spec.embeddingSize;
        const writer = EmbeddingsWriter.open(options.out, dim, { run: runOut, shard });
        try {
          await embedInChunks(model, selected, inputs, (start, vectors) => {
            writer.append(
              selected.slice(start, start + vectors.length / dim).map((item) => item.id),
              vectors,
            );
          });
          const header = writer.close();
          log.info(`embedded ${header.count} items (dim ${header.dim}) into ${options.out}`);
        } catch (error) {
          writer.abort();
          throw fileSystemError(options.out, error);
        } finally {
          model.dispose();
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
