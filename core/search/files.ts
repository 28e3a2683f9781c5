import { accessSync, constants, existsSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** Fails with a UserError unless a file can be created at `path` (faiss aborts the process otherwise). */
export function assertWritable(path: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UserError(`cannot write ${path}: directory ${dir} does not exist`, 'create the directory first');
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UserError(`cannot write ${path}: directory ${dir} is not writable`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new UserError(`cannot write ${path}: it is a directory`);
}

export function assertReadable(path: string, what: string): void {
  if (!existsSync(path)) throw new UserError(`${what} ${path} does not exist`);
  if (!statSync(path).isFile()) throw new UserError(`${what} ${path} is not a file`);
}

/** writeSync may write fewer bytes than asked (large buffers); loop until all are written. */
export function writeFully(fd: number, bytes: Uint8Array, position?: number): void {
  let offset = 0;
  while (offset < bytes.length) {
    const n = writeSync(
      fd,
      bytes,
      offset,
      Math.min(bytes.length - offset, 1 << 30),
      position === undefined ? null : position + offset,
    );
    offset += n;
  }
}

export function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
