import { join } from 'node:path';
import { Random } from '../random.js';
import type { Item } from '../contracts/competition.js';
import type { PreparedRun, RunOptions } from './context.js';
import { DEFAULT_MAX_BAD_IMAGES } from './data-check.js';
import { trainEmbeddingModel, type EmbeddingModel } from './embedding-model.js';
import { modelInputs } from './model-inputs.js';
import { phase } from './phases.js';
import type { Simkit } from '../di/container.js';

/** How many training items at most the validation queries of an item split search each epoch. */
export const VALIDATION_GALLERY_LIMIT = 2000;

/** The folder of the model called `name` inside a run directory: its checkpoints, log and saved model. */
export function modelDir(runDir: string, name: string): string {
  return join(runDir, name);
}

/** A run's trained models by name, in the config's order. */
export interface TrainedModels {
  readonly byName: ReadonlyMap<string, EmbeddingModel>;
  dispose(): void;
}

function trainedModels(byName: ReadonlyMap<string, EmbeddingModel>): TrainedModels {
  return { byName, dispose: () => byName.forEach((model) => model.dispose()) };
}

/**
 * The training stage: every model of the config, in order, each in its own folder of the run
 * (`run/<name>/`), with the run's seed, resuming and treating unreadable images as asked. An image
 * model's decoded training images are kept in `cache/<name>/` of the output folder for the next run.
 */
export async function trainModels(
  app: Simkit,
  run: Pick<PreparedRun, 'competition' | 'config' | 'seed' | 'out' | 'runDir' | 'train' | 'validation'> & {
    /** The items an image model's cache of decoded images holds, when more than `train` (a cross-validation's). */
    readonly cacheItems?: readonly Item[];
  },
  options: Pick<RunOptions, 'resume' | 'strict' | 'maxBadImages'>,
): Promise<TrainedModels> {
  const { competition, config, seed, train, validation } = run;
  // An item split validates known classes: its queries search (a sample of) the training items.
  const validationGallery =
    config.validation.by === 'item'
      ? new Random(seed).shuffle([...train]).slice(0, VALIDATION_GALLERY_LIMIT)
      : undefined;
  const byName = new Map<string, EmbeddingModel>();
  try {
    for (const [name, model] of Object.entries(config.models)) {
      const inputs = modelInputs(app, competition, name, model, options.strict);
      const training = {
        dir: modelDir(run.runDir, name),
        cacheDir: join(run.out, 'cache', name),
        cacheItems: run.cacheItems,
        seed,
        resume: options.resume,
        strict: options.strict,
        maxBadImages: options.maxBadImages ?? DEFAULT_MAX_BAD_IMAGES,
        validationGallery,
      };
      const trained = await phase(
        name,
        () => trainEmbeddingModel(app, name, model, inputs, { train, validation }, training),
        (result) => result.training.history.length * train.length,
      );
      byName.set(name, trained);
    }
  } catch (error) {
    trainedModels(byName).dispose();
    throw error;
  }
  return trainedModels(byName);
}
