import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import type { EpochRecord, TrainingCallback, TrainingLoop } from './callbacks.js';
import {
  refuseShrinkingResume,
  type Checkpoints,
  type CheckpointState,
  type NamedTensor,
  type TensorGroups,
} from './checkpoint.js';

async function tensorGroups(loop: TrainingLoop): Promise<TensorGroups> {
  const { backboneOptimizer } = loop;
  return {
    ...(backboneOptimizer ? { backboneOptimizer: await backboneOptimizer.getWeights() } : {}),
    model: loop.model.weights.map((weight) => ({ name: weight.originalName, tensor: weight.read() })),
    head: loop.objective.variables().map((variable) => ({ name: variable.name, tensor: variable })),
    modelOptimizer: await loop.modelOptimizer.getWeights(),
    headOptimizer: await loop.headOptimizer.getWeights(),
    objectiveState: Object.entries(loop.objective.getState?.() ?? {}).map(([name, tensor]) => ({ name, tensor })),
  };
}

/** The latest checkpoint's model, objective and optimiser state, loaded into the loop; returns its state. */
async function restore(checkpoints: Checkpoints, loop: TrainingLoop): Promise<CheckpointState<EpochRecord>> {
  const loaded = (await checkpoints.readLatest<EpochRecord>())!;
  try {
    refuseShrinkingResume(checkpoints.dir, loop.epochs, loaded.state.epoch);
    if (loaded.state.fingerprint !== loop.fingerprint) {
      throw new UserError(
        `the checkpoint in ${loaded.dir} was written for another model or objective (${loaded.state.fingerprint}; this run has ${loop.fingerprint})`,
        'resume with the config the run started with, or start afresh',
      );
    }
    setWeightsByName(loop.model, loaded.groups.model!);
    loop.objective.variables().forEach((variable, i) => variable.assign(loaded.groups.head![i]!.tensor));
    const objectiveState = loaded.groups.objectiveState ?? [];
    loop.objective.setState?.(Object.fromEntries(objectiveState.map(({ name, tensor }) => [name, tensor])));
    // The optimisers' slot variables share the data of these tensors (reference-counted).
    await loop.modelOptimizer.setWeights(loaded.groups.modelOptimizer!);
    await loop.headOptimizer.setWeights(loaded.groups.headOptimizer!);
    const backboneState = loaded.groups.backboneOptimizer;
    if (loop.backboneOptimizer && backboneState) await loop.backboneOptimizer.setWeights(backboneState);
    return loaded.state;
  } finally {
    tf.dispose(Object.values(loaded.groups).flatMap((group) => group.map((t) => t.tensor)));
  }
}

/**
 * Writes saved weights into the model, by name when the model has every saved name: the order of
 * model.weights follows the layers' trainable flags, which fine-tuning phases change between saving
 * and restoring (and pretrained networks and their necks have fixed names). Otherwise by position:
 * automatic layer names (dense_Dense3) differ between processes, and without phases the order holds.
 */
export function setWeightsByName(model: tf.LayersModel, weights: readonly NamedTensor[]): void {
  const byName = new Map(weights.map((w) => [w.name, w.tensor]));
  const named = model.weights.map((weight) => byName.get(weight.originalName));
  model.setWeights(
    named.every((value) => value !== undefined) && byName.size === weights.length
      ? named
      : weights.map((w) => w.tensor),
  );
}

/**
 * Resume or fresh start: with `resume` and a checkpoint, the loop continues from it (weights,
 * optimisers, epoch, step, random state, history); otherwise earlier checkpoints are cleared.
 */
export async function resumeOrStart(
  checkpoints: Checkpoints | undefined,
  loop: TrainingLoop,
  resume: boolean | undefined,
): Promise<void> {
  if (checkpoints && resume && checkpoints.exists()) {
    loop.state = await restore(checkpoints, loop);
    loop.random.setState(loop.state.randomState);
    loop.resumedFrom = loop.state.epoch;
    log.info(`resuming after epoch ${loop.state.epoch} from ${checkpoints.dir}`);
  } else if (checkpoints?.exists()) {
    log.warn(
      `replacing the checkpoints in ${checkpoints.dir} once this run's first one is written (resume to continue them instead)`,
    );
    checkpoints.supersede();
  } else if (resume) {
    log.info(`no checkpoint${checkpoints ? ` in ${checkpoints.dir}` : ''}: starting from epoch 1`);
  }
}

/**
 * A checkpoint after every epoch: model, objective (its untrained state too: cross-batch memory's queue),
 * optimisers and the loop's state, so that a
 * resumed run continues exactly; the best epoch's checkpoint is kept besides the latest ones.
 */
export function checkpointing(checkpoints: Checkpoints): TrainingCallback {
  return {
    onEpochEnd: async (_record, loop) => {
      const groups = await tensorGroups(loop);
      try {
        await checkpoints.write(loop.state, groups, { protect: loop.state.best?.epoch });
      } finally {
        // Optimisers hand out their step count as a new tensor; everything else is a live variable.
        tf.dispose(
          Object.values(groups).flatMap((group) =>
            group.filter((t) => !(t.tensor instanceof tf.Variable)).map((t) => t.tensor),
          ),
        );
      }
    },
  };
}
