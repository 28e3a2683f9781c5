import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';

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
}

export interface LoadedCheckpoint<History = unknown> {
  readonly dir: string;
  readonly state: CheckpointState<History>;
  /** Caller disposes the tensors. */
  readonly groups: Record<string, NamedTensor[]>;
}

async function writeDurably(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
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

  constructor(runDir: string, private readonly keep = 2) {
    this.dir = join(runDir, 'checkpoints');
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`checkpoints to keep must be a positive integer, got ${keep}`);
  }

  exists(): boolean {
    return existsSync(join(this.dir, LATEST));
  }

  /** Removes every checkpoint (a fresh run replacing an earlier one). */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  async write(state: CheckpointState, groups: TensorGroups, options: { protect?: number } = {}): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const name = epochDirName(state.epoch);
    const temporary = join(this.dir, `.${name}.tmp-${process.pid}`);
    await rm(temporary, { recursive: true, force: true });
    await mkdir(temporary);
    const ordered = Object.entries(groups).flatMap(([group, tensors]) => tensors.map((t, i) => ({ name: `${group}/${i}`, tensor: t.tensor, original: t.name })));
    const { data, specs } = await tf.io.encodeWeights(ordered.map(({ name, tensor }) => ({ name, tensor })));
    const stored: StoredState = {
      format: CHECKPOINT_FORMAT,
      ...state,
      groups: Object.fromEntries(Object.entries(groups).map(([group, tensors]) => [group, tensors.map((t) => t.name)])),
      specs,
    };
    await writeDurably(join(temporary, TENSORS), new Uint8Array(data));
    await writeDurably(join(temporary, STATE), JSON.stringify(stored));
    await syncDirectory(temporary);
    const final = join(this.dir, name);
    await rm(final, { recursive: true, force: true });
    await rename(temporary, final);
    const pointer = join(this.dir, `.${LATEST}.tmp-${process.pid}`);
    await writeDurably(pointer, JSON.stringify({ format: CHECKPOINT_FORMAT, checkpoint: name, epoch: state.epoch }));
    await rename(pointer, join(this.dir, LATEST));
    await syncDirectory(this.dir);
    await this.prune(name, options.protect === undefined ? undefined : epochDirName(options.protect));
    return final;
  }

  /** The checkpoint `latest.json` names, or null when there is none. */
  async readLatest<History>(): Promise<LoadedCheckpoint<History> | null> {
    const pointerFile = join(this.dir, LATEST);
    if (!existsSync(pointerFile)) return null;
    const pointer = parseJson(pointerFile, await readFile(pointerFile, 'utf8')) as { format?: string; checkpoint?: string };
    if (pointer.format !== CHECKPOINT_FORMAT || typeof pointer.checkpoint !== 'string') {
      throw new InputError(pointerFile, undefined, 'format', `expected a ${CHECKPOINT_FORMAT} pointer`);
    }
    return this.read<History>(join(this.dir, pointer.checkpoint));
  }

  async read<History>(dir: string): Promise<LoadedCheckpoint<History>> {
    const stateFile = join(dir, STATE);
    if (!existsSync(stateFile)) throw new InputError(stateFile, undefined, undefined, 'checkpoint state is missing');
    const stored = parseJson(stateFile, await readFile(stateFile, 'utf8')) as StoredState;
    if (stored.format !== CHECKPOINT_FORMAT) throw new InputError(stateFile, undefined, 'format', `expected ${CHECKPOINT_FORMAT}, got ${JSON.stringify(stored.format)}`);
    const bytes = await readFile(join(dir, TENSORS));
    const expected = stored.specs.reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * (spec.dtype === 'bool' ? 1 : 4), 0);
    if (bytes.byteLength !== expected) throw new InputError(join(dir, TENSORS), undefined, undefined, `${bytes.byteLength} bytes, the state describes ${expected}`);
    const decoded = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, stored.specs);
    const groups = Object.fromEntries(
      Object.entries(stored.groups).map(([group, names]) => [group, names.map((name, i) => ({ name, tensor: decoded[`${group}/${i}`]! }))]),
    );
    const { format: _format, groups: _groups, specs: _specs, ...state } = stored;
    return { dir, state: state as CheckpointState<History>, groups };
  }

  /** Keeps the newest `keep` checkpoints and the protected one (the best epoch); removes stale temporaries. */
  private async prune(latest: string, protect: string | undefined): Promise<void> {
    const entries = (await readdir(this.dir)).filter((entry) => entry.startsWith('epoch-') || entry.startsWith('.epoch-'));
    const complete = entries.filter((entry) => entry.startsWith('epoch-')).sort().reverse();
    const kept = new Set([latest, ...complete.slice(0, this.keep), ...(protect ? [protect] : [])]);
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
