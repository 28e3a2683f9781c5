import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { InputError } from '../errors.js';
import { writeFileAtomicSync } from './atomic-write.js';

/** SHA-256 of a file's bytes, hex, read in 1 MiB blocks. */
export function sha256OfFile(path: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) hash.update(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export function sha256OfBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The checksum file beside an artefact, in `sha256sum` format (`sha256sum -c` checks it too). */
export function checksumPathFor(path: string): string {
  return `${path}.sha256`;
}

/** Writes `<path>.sha256` for the file now at `path`. */
export function writeChecksum(path: string): string {
  const digest = sha256OfFile(path);
  writeFileAtomicSync(checksumPathFor(path), `${digest}  ${path.split('/').at(-1)}\n`);
  return digest;
}

/** Removes a checksum that no longer describes its file (the file is about to be replaced). */
export function dropChecksum(path: string): void {
  rmSync(checksumPathFor(path), { force: true });
}

/** Fails naming the file when `actual` is not the digest it was written with. */
export function assertDigest(path: string, expected: string, actual: string): void {
  if (expected !== actual) {
    throw new InputError(
      path,
      undefined,
      undefined,
      `checksum mismatch: SHA-256 ${actual}, written as ${expected}; the file is corrupt or was changed after it was written (write it again)`,
    );
  }
}

/**
 * Checks `path` against `<path>.sha256`. A file without one (written by an older simkit) is
 * accepted; a mismatch fails naming the file.
 */
export function verifyChecksum(path: string): void {
  const sidecar = checksumPathFor(path);
  if (!existsSync(sidecar)) return;
  const expected = readFileSync(sidecar, 'utf8').split(/\s+/)[0] ?? '';
  if (!/^[0-9a-f]{64}$/.test(expected))
    throw new InputError(sidecar, 1, undefined, 'expected a SHA-256 digest (64 hex digits)');
  assertDigest(path, expected, sha256OfFile(path));
}
