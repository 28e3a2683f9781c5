import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * The one way simkit replaces a file or a folder: write a temporary sibling (same folder, so the
 * rename is atomic on one file system), flush it, rename it over the target. Readers see the old
 * content or the new one, never a part; a failure at any step removes the temporary and leaves the
 * target as it was. File-system errors a user can fix (a folder where a file goes, a name too long,
 * no permission, a full disk) become UserErrors naming the target.
 */

/** A unique temporary sibling of `path`, hidden (`.name.tmp-<pid>-<random>`). */
export function temporarySibling(path: string): string {
  return join(dirname(resolve(path)), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

const FIXABLE: Readonly<Record<string, string>> = {
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENAMETOOLONG: 'the name is too long for the file system',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  ENOENT: 'its folder does not exist',
  EEXIST: 'something else is in the way',
};

/** `error` as a UserError naming `path` when the user can fix its cause; anything else unchanged. */
export function fileSystemError(path: string, error: unknown, action = 'write'): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code && code in FIXABLE)
    return new UserError(
      `cannot ${action} ${path}: ${FIXABLE[code]} (${code})`,
      'choose another path, or fix the file system, and run again',
      2,
    );
  return error;
}

function refuseDirectory(path: string, isDirectory: boolean): void {
  if (isDirectory) throw new UserError(`cannot write ${path}: it is a directory`, 'pass a file path, not a folder', 2);
}

/**
 * Moves the file that `produce` writes at the temporary path it is given over `path` (for writers
 * that stream, or that check what they wrote before it may replace anything); the temporary is
 * removed on failure and the target left as it was.
 */
export async function replaceFile(path: string, produce: (temporary: string) => Promise<void>): Promise<void> {
  const temporary = temporarySibling(path);
  try {
    refuseDirectory(path, (await stat(path).catch(() => undefined))?.isDirectory() ?? false);
    await mkdir(dirname(resolve(path)), { recursive: true });
    await produce(temporary);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw fileSystemError(path, error);
  }
}

/** replaceFile for synchronous producers (a native library writing its own file). */
export function replaceFileSync(path: string, produce: (temporary: string) => void): void {
  const temporary = temporarySibling(path);
  try {
    refuseDirectory(path, existsSync(path) && statSync(path).isDirectory());
    produce(temporary);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw fileSystemError(path, error);
  }
}

/**
 * Writes `content` to `path` atomically and durably (flushed before the rename; its folder is created when missing).
 */
export function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  return replaceFile(path, async (temporary) => {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/** writeFileAtomic for synchronous callers. */
export function writeFileAtomicSync(path: string, content: string | Uint8Array): void {
  replaceFileSync(path, (temporary) => writeFileSync(temporary, content));
}

/**
 * Replaces the folder `dir` with one that `fill` writes at the temporary path it is given. With
 * `replace: false` an existing `dir` is kept and `fill`'s folder dropped (a cache another process
 * completed first); returns whether this call's folder is the one in place.
 */
export async function replaceDirectoryAtomic(
  dir: string,
  fill: (temporary: string) => Promise<void>,
  options: { replace?: boolean } = {},
): Promise<boolean> {
  const temporary = temporarySibling(dir);
  try {
    await mkdir(temporary, { recursive: true });
    await fill(temporary);
    await syncDirectory(temporary);
    if (options.replace === false && existsSync(dir)) return false;
    if (options.replace !== false) await rm(dir, { recursive: true, force: true });
    await rename(temporary, dir);
    await syncDirectory(dirname(resolve(dir)));
    return true;
  } catch (error) {
    if (options.replace === false && existsSync(dir)) return false;
    throw fileSystemError(dir, error);
  } finally {
    await rm(temporary, { recursive: true, force: true });
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
