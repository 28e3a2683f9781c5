import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import { fileSystemError } from './atomic-write.js';

/**
 * An output folder is owned by one run at a time: `<out>/.simkit.lock` holds the owner's pid. A
 * lock whose process is gone (killed, crashed) is stale and taken over with a warning; one held by
 * a live process refuses the run before any work. This process may take its own lock again (one
 * process runs one run at a time); every lock it holds is removed when it exits.
 */
export const OUT_LOCK_FILE = '.simkit.lock';

const held = new Set<string>();
let releaseOnExit = false;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes `<out>/.simkit.lock` for this process (the folder must exist), or refuses naming the holder. */
export function lockOutFolder(out: string): void {
  const lock = join(resolve(out), OUT_LOCK_FILE);
  for (;;) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileSystemError(lock, error);
    }
    const holder = holderOf(lock);
    if (holder === process.pid) break;
    if (holder !== undefined && isAlive(holder))
      throw new UserError(
        `the output folder ${resolve(out)} is in use by another simkit run (process ${holder}, lock ${lock})`,
        'wait for that run to finish, or pass another --out; if no such run exists, remove the lock file',
        2,
      );
    log.warn(`taking over ${lock}: the run that held it (process ${holder ?? 'unknown'}) is gone`);
    rmSync(lock, { force: true });
  }
  held.add(lock);
  if (!releaseOnExit) {
    releaseOnExit = true;
    process.once('exit', releaseOutFolders);
  }
}

/** Removes every lock this process holds. */
export function releaseOutFolders(): void {
  for (const lock of held) if (holderOf(lock) === process.pid) rmSync(lock, { force: true });
  held.clear();
}
