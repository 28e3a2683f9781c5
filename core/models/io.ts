import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError, UserError } from '../errors.js';
import { assertDigest, sha256OfBytes } from '../io/checksum.js';
import { replaceDirectoryAtomic } from '../io/atomic-write.js';
// Registers simkit's custom layers (GeM pooling, embedding bag, frozen batch norm, graph features) so saved models load
// back.
import './pretrained.js';

/**
 * Saves a LayersModel as `model.json` + `weights.bin` in `dir` without tfjs-node: both files are
 * written into a temporary sibling directory that then replaces `dir`, so a reader never sees a
 * half-written model.
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await replaceDirectoryAtomic(dir, (temporary) =>
    model
      .save(
        tf.io.withSaveHandler(async (artifacts) => {
          const weights = artifacts.weightData
            ? new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData))
            : new Uint8Array(0);
          const manifest = {
            modelTopology: artifacts.modelTopology,
            format: artifacts.format,
            generatedBy: artifacts.generatedBy,
            convertedBy: artifacts.convertedBy,
            weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
            weightsSha256: sha256OfBytes(weights),
          };
          await writeFile(join(temporary, 'weights.bin'), weights);
          await writeFile(join(temporary, 'model.json'), JSON.stringify(manifest));
          return {
            modelArtifactsInfo: {
              dateSaved: new Date(),
              modelTopologyType: 'JSON',
              weightDataBytes: weights.byteLength,
            },
          };
        }),
      )
      .then(() => undefined),
  );
}

/** Loads a model saved by `saveModel` (or any TF.js LayersModel directory with one weights file). */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  let manifest: {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    weightsSha256?: string;
  };
  try {
    manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as typeof manifest;
  } catch (error) {
    throw new UserError(
      `cannot read a model from ${dir}: ${(error as Error).message}`,
      'pass a run directory written by simkit run or simkit train (it holds model/model.json)',
    );
  }
  const group = manifest.weightsManifest?.[0];
  const weightsFile = join(dir, group?.paths[0] ?? 'weights.bin');
  const weights = group ? await readFile(weightsFile) : Buffer.alloc(0);
  if (manifest.weightsSha256 !== undefined) assertDigest(weightsFile, manifest.weightsSha256, sha256OfBytes(weights));
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: manifest.modelTopology, weightSpecs: group?.weights ?? [], weightData }),
  );
  const notFinite = model.weights.find(
    (weight) => weight.dtype === 'float32' && !(weight.read().dataSync() as Float32Array).every(Number.isFinite),
  );
  if (notFinite) {
    model.dispose();
    throw new InputError(
      weightsFile,
      undefined,
      notFinite.originalName,
      'holds values that are not finite (NaN or ±Infinity): the training that wrote it diverged; train it again',
    );
  }
  return model;
}
