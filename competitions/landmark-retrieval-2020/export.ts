import { join, relative } from 'node:path';
import type { CompetitionAdapter, ModelExport } from '../../core/contracts/competition.js';
import { replaceDirectoryAtomic, writeFileAtomic } from '../../core/io/atomic-write.js';
import { UserError } from '../../core/errors.js';
import { log } from '../../core/log.js';
import { normalizedEmbeddingModel, simkitOnlyLayers } from '../../core/models/export.js';
import { loadModel, saveModel } from '../../core/models/io.js';
import { embedInChunks, imageInputs } from '../../core/pipeline/model-inputs.js';

/** The folder of `<out>` that holds what would be uploaded: the TF.js model (model.json, weights.bin). */
export const SUBMISSION_MODEL_DIR = 'submission-model';
/** The run's local score of the exported model and what its input and output are. */
export const LOCAL_SCORE_FILE = 'local-score.json';
/** Largest difference allowed between the exported model's vectors and those the run searched. */
export const EXPORT_TOLERANCE = 1e-6;

/** The command that turns the exported TF.js model into a Keras SavedModel on a machine with TensorFlow. */
export function conversionCommand(modelDir: string): string {
  return `tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras_saved_model ${join(modelDir, 'model.json')} saved_model`;
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i]! - b[i]!));
  return largest;
}

/** Loads the model saved in `dir` and embeds the run's test queries with it: the largest difference to the run's. */
async function reproducedDifference(
  competition: CompetitionAdapter,
  run: ModelExport,
  dir: string,
  imageSize: number,
): Promise<number> {
  const { items, vectors } = run.queries;
  const dim = vectors.length / items.length;
  const reloaded = await loadModel(dir);
  const embedded = new Float32Array(vectors.length);
  try {
    await embedInChunks(reloaded, items, imageInputs(competition, { imageSize }), (start, chunk) =>
      embedded.set(chunk, start * dim),
    );
  } finally {
    reloaded.dispose();
  }
  return largestDifference(embedded, vectors);
}

/**
 * What Landmark Retrieval 2020 took: the run's trained image model with its output L2-normalised inside it, as a TF.js
 * LayersModel in `<out>/submission-model`. Before it replaces anything, it is loaded back from disk and embeds the
 * test queries again: their vectors must equal those the run searched and scored (within EXPORT_TOLERANCE), else
 * the run fails as a bug and nothing is exported.
 * The local score, the model's input and output and the conversion route go to `<out>/local-score.json`.
 */
export async function exportHostModel(competition: CompetitionAdapter, run: ModelExport): Promise<string> {
  const dir = join(run.out, SUBMISSION_MODEL_DIR);
  const { items, vectors } = run.queries;
  const dim = vectors.length / items.length;
  if (run.model.input !== 'image')
    throw new UserError(`${competition.slug} took an image model; the run's search model reads ${run.model.input}s`);
  const size = run.model.imageSize;
  const trained = await loadModel(join(run.modelDir, 'model'));
  const customLayers = simkitOnlyLayers(trained);
  let difference = Number.NaN;
  try {
    const served = normalizedEmbeddingModel(trained);
    // Checked before it replaces anything: a model that does not reproduce the scored vectors is never left in place.
    await replaceDirectoryAtomic(dir, async (temporary) => {
      await saveModel(served, temporary);
      difference = await reproducedDifference(competition, run, temporary, size);
      if (!(difference <= EXPORT_TOLERANCE))
        throw new Error(
          `the exported model does not reproduce the vectors the run scored: largest difference ${difference}`,
        );
    });
  } finally {
    // The served model shares the trained model's layers: disposing the trained one frees both.
    trained.dispose();
  }
  const card = {
    competition: competition.slug,
    metric: competition.scoring.name,
    validation: run.validation,
    test: run.test && { score: run.test.score, public: run.test.public, private: run.test.private },
    model: {
      folder: relative(run.out, dir),
      format: 'TF.js LayersModel (model.json + weights.bin)',
      input:
        `float32 [batch, ${size}, ${size}, 3]: the centre square of each image (EXIF orientation applied), ` +
        `resized to ${size}×${size}, RGB scaled to [0, 1]`,
      output: `float32 [batch, ${dim}], L2-normalised`,
      search:
        "each test image against every index image, the 100 nearest by L2 distance (as Kaggle's host ranked them)",
      reproduced: { queries: items.length, largestDifference: difference },
      layersOnlySimkitDefines: customLayers,
      savedModel: `not produced here (no TensorFlow); on a machine with it: ${conversionCommand(relative(run.out, dir))}`,
    },
  };
  await writeFileAtomic(join(run.out, LOCAL_SCORE_FILE), `${JSON.stringify(card, null, 2)}\n`);
  log.info(
    `[${competition.slug}] exported the model Kaggle took to ${dir}; reloaded, it reproduces the ${items.length} test vectors ` +
      `the run scored (largest difference ${difference.toExponential(1)}); local score in ${join(run.out, LOCAL_SCORE_FILE)}`,
  );
  if (customLayers.length > 0)
    log.warn(
      `the model uses layers only simkit defines (${customLayers.join(', ')}): converting it to a SavedModel needs their Python definitions`,
    );
  return dir;
}
