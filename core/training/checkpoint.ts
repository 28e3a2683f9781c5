import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import { replaceDirectoryAtomic, writeFileAtomic } from '../io/atomic-write.js';
import { assertDigest, sha256OfBytes } from '../io/checksum.js';
import { ShrinkingResumeError } from './errors.js';

export const CHECKPOINT_FORMAT = 'simkit-checkpoint/1';
const LATEST = 'latest.json';
const TENSORS = 'tensors.bin';
const STATE = 'state.json';

/** Everything besides tensors that a resumed run needs to continue exactly. */
export interface CheckpointState<History = unknown> {
  /** Epochs completed. */
  readonly epoch: number;
  readonly step: number;
  /** State of the loop's Random after `epoch` epochs. */
  readonly randomState: number;
  readonly history: readonly History[];
  /** Best value of the early-stopping metric so far and its epoch. */
  readonly best: { readonly metric: string; readonly value: number; readonly epoch: number } | null;
  /** Epochs since the best one. */
  readonly epochsWithoutImprovement: number;
  /** Shapes of the model's and the objective's weights, to refuse resuming a different model. */
  readonly fingerprint: string;
}

export interface NamedTensor {
  readonly name: string;
  readonly tensor: tf.Tensor;
}

/** Tensors of a checkpoint, in groups (model weights, head variables, optimiser slots), each in order. */
export type TensorGroups = Readonly<Record<string, readonly NamedTensor[]>>;

interface StoredState extends CheckpointState {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly specs: tf.io.WeightsManifestEntry[];
  /** Of tensors.bin; absent in checkpoints of older versions. */
  readonly tensorsSha256?: string;
}

export interface LoadedCheckpoint<History = unknown> {
  readonly dir: string;
  readonly state: CheckpointState<History>;
  /** Caller disposes the tensors. */
  readonly groups: Record<string, NamedTensor[]>;
}

function epochDirName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}`;
}

/**
 * Per-epoch checkpoints under `<runDir>/checkpoints`. Each is written into a temporary directory,
 * flushed to disk and renamed into place; only then does `latest.json` (itself written to a temporary
 * file and renamed) point at it. A process killed at any moment therefore leaves the previous
 * checkpoint intact and `latest.json` naming a complete one.
 */
export class Checkpoints {
  readonly dir: string;

  constructor(
    runDir: string,
    private readonly keep = 2,
  ) {
    this.dir = join(runDir, 'checkpoints');
    if (!Number.isInteger(keep) || keep < 1)
      throw new RangeError(`checkpoints to keep must be a positive integer, got ${keep}`);
  }

  exists(): boolean {
    return existsSync(join(this.dir, LATEST));
  }

  private superseding = false;

  /**
   * A fresh run replacing earlier checkpoints: they stay (a run killed before its first checkpoint
   * can still be resumed from them) and are removed once the next write is complete.
   */
  supersede(): void {
    this.superseding = true;
  }

  async write(state: CheckpointState, groups: TensorGroups, options: { protect?: number } = {}): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const name = epochDirName(state.epoch);
    const ordered = Object.entries(groups).flatMap(([group, tensors]) =>
      tensors.map((t, i) => ({ name: `${group}/${i}`, tensor: t.tensor, original: t.name })),
    );
    const { data, specs } = await tf.io.encodeWeights(ordered.map(({ name, tensor }) => ({ name, tensor })));
    const stored: StoredState = {
      format: CHECKPOINT_FORMAT,
      ...state,
      groups: Object.fromEntries(Object.entries(groups).map(([group, tensors]) => [group, tensors.map((t) => t.name)])),
      specs,
      tensorsSha256: sha256OfBytes(new Uint8Array(data)),
    };
    const final = join(this.dir, name);
    await replaceDirectoryAtomic(final, async (temporary) => {
      await writeFileAtomic(join(temporary, TENSORS), new Uint8Array(data));
      await writeFileAtomic(join(temporary, STATE), JSON.stringify(stored));
    });
    await writeFileAtomic(
      join(this.dir, LATEST),
      JSON.stringify({ format: CHECKPOINT_FORMAT, checkpoint: name, epoch: state.epoch }),
    );
    await this.prune(name, options.protect === undefined ? undefined : epochDirName(options.protect));
    this.superseding = false;
    return final;
  }

  /** The checkpoint `latest.json` names, or null when there is none. */
  async readLatest<History>(): Promise<LoadedCheckpoint<History> | null> {
    const pointerFile = join(this.dir, LATEST);
    if (!existsSync(pointerFile)) return null;
    const pointer = parseJson(pointerFile, await readFile(pointerFile, 'utf8')) as {
      format?: string;
      checkpoint?: string;
    };
    if (pointer.format !== CHECKPOINT_FORMAT || typeof pointer.checkpoint !== 'string') {
      throw new InputError(pointerFile, undefined, 'format', `expected a ${CHECKPOINT_FORMAT} pointer`);
    }
    return this.read<History>(join(this.dir, pointer.checkpoint));
  }

  async read<History>(dir: string): Promise<LoadedCheckpoint<History>> {
    const stateFile = join(dir, STATE);
    if (!existsSync(stateFile)) throw new InputError(stateFile, undefined, undefined, 'checkpoint state is missing');
    const stored = parseJson(stateFile, await readFile(stateFile, 'utf8')) as StoredState;
    if (stored.format !== CHECKPOINT_FORMAT)
      throw new InputError(
        stateFile,
        undefined,
        'format',
        `expected ${CHECKPOINT_FORMAT}, got ${JSON.stringify(stored.format)}`,
      );
    const tensorsFile = join(dir, TENSORS);
    const bytes = await readFile(tensorsFile);
    const expected = stored.specs.reduce(
      (sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * (spec.dtype === 'bool' ? 1 : 4),
      0,
    );
    if (bytes.byteLength !== expected)
      throw new InputError(
        tensorsFile,
        undefined,
        undefined,
        `${bytes.byteLength} bytes, the state describes ${expected}`,
      );
    if (stored.tensorsSha256 !== undefined) assertDigest(tensorsFile, stored.tensorsSha256, sha256OfBytes(bytes));
    const decoded = tf.io.decodeWeights(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      stored.specs,
    );
    const notFinite = Object.entries(decoded).find(
      ([, tensor]) => tensor.dtype === 'float32' && !(tensor.dataSync() as Float32Array).every(Number.isFinite),
    );
    if (notFinite) {
      tf.dispose(Object.values(decoded));
      throw new InputError(
        tensorsFile,
        undefined,
        notFinite[0],
        'holds values that are not finite (NaN or ±Infinity): the training that wrote it diverged; resume from an earlier checkpoint or start afresh',
      );
    }
    const groups = Object.fromEntries(
      Object.entries(stored.groups).map(([group, names]) => [
        group,
        names.map((name, i) => ({ name, tensor: decoded[`${group}/${i}`]! })),
      ]),
    );
    const { format: _format, groups: _groups, specs: _specs, tensorsSha256: _sha, ...state } = stored;
    return { dir, state: state as CheckpointState<History>, groups };
  }

  /** The model weights of the checkpoint of `epoch` (the caller disposes them); fails naming it when it is gone. */
  async readModelWeights(epoch: number): Promise<NamedTensor[]> {
    const dir = join(this.dir, epochDirName(epoch));
    if (!existsSync(dir))
      throw new InputError(
        dir,
        undefined,
        undefined,
        `the checkpoint of the best epoch (${epoch}) is missing; start afresh without --resume`,
      );
    const loaded = await this.read(dir);
    const { model = [], ...rest } = loaded.groups;
    tf.dispose(Object.values(rest).flatMap((group) => group.map((t) => t.tensor)));
    return [...model];
  }

  /** Epochs the latest checkpoint has trained (0 without one). */
  latestEpoch(): number {
    if (!this.exists()) return 0;
    const pointerFile = join(this.dir, LATEST);
    const epoch = (parseJson(pointerFile, readFileSync(pointerFile, 'utf8')) as { epoch?: unknown }).epoch;
    if (!Number.isInteger(epoch))
      throw new InputError(pointerFile, undefined, 'epoch', `expected an integer, got ${JSON.stringify(epoch)}`);
    return epoch as number;
  }

  /** Keeps the newest `keep` checkpoints and the protected one (the best epoch); removes stale temporaries. */
  private async prune(latest: string, protect: string | undefined): Promise<void> {
    const entries = (await readdir(this.dir)).filter(
      (entry) => entry.startsWith('epoch-') || entry.startsWith('.epoch-'),
    );
    const complete = entries
      .filter((entry) => entry.startsWith('epoch-'))
      .sort()
      .reverse();
    const kept = this.superseding
      ? new Set([latest])
      : new Set([latest, ...complete.slice(0, this.keep), ...(protect ? [protect] : [])]);
    for (const entry of entries) {
      if (kept.has(entry)) continue;
      await rm(join(this.dir, entry), { recursive: true, force: true });
    }
  }
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(file, undefined, undefined, `not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The one refusal of a resume that cannot continue: `epochs` fewer than the checkpoint in `checkpointsDir` has
 * already trained. The run checks each model before any work; the trainer checks again when it restores.
 */
export function refuseShrinkingResume(checkpointsDir: string, epochs: number, trained: number): void {
  if (trained > epochs) throw new ShrinkingResumeError(checkpointsDir, epochs, trained);
}

/** Refuses, before any work, to resume the model trained in `runDir` for fewer epochs than its checkpoint holds. */
export function checkResumable(runDir: string, epochs: number): void {
  const checkpoints = new Checkpoints(runDir);
  refuseShrinkingResume(checkpoints.dir, epochs, checkpoints.latestEpoch());
}
