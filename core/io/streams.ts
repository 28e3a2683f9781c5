import { UserError } from '../errors.js';
import { fileSystemError } from './atomic-write.js';

/**
 * stdout and stderr that never end a run: a closed pipe (`simkit … | head -1`, EPIPE) stops the
 * printing to that stream and nothing else; any other write failure (a full disk behind
 * `> file`, ENOSPC) also stops the printing and is kept, so that the command ends with exit 2
 * naming the stream once its work is done.
 */

type Write = typeof process.stdout.write;

interface Guarded {
  readonly name: 'stdout' | 'stderr';
  closed: boolean;
}

const guarded = new Map<NodeJS.WriteStream, Guarded>();
const wrappers = new WeakSet<Write>();
let failure: UserError | undefined;

function stop(entry: Guarded, error: unknown): void {
  if (entry.closed) return;
  entry.closed = true;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED') return;
  const named = fileSystemError(entry.name, error);
  failure ??=
    named instanceof UserError
      ? named
      : new UserError(`cannot write ${entry.name}: ${(error as Error)?.message ?? String(error)}`, undefined, 2);
}

/** Wraps the stream's current `write` (once: a write already wrapped is left as it is). */
function guard(name: 'stdout' | 'stderr', stream: NodeJS.WriteStream): void {
  let entry = guarded.get(stream);
  if (!entry) {
    const created: Guarded = { name, closed: false };
    guarded.set(stream, (entry = created));
    stream.on('error', (error) => stop(created, error));
  }
  // eslint-disable-next-line @typescript-eslint/unbound-method -- compared as a value; called bound below
  if (wrappers.has(stream.write)) return;
  const inner: Write = stream.write.bind(stream);
  const state = entry;
  const wrapper = function write(...args: Parameters<Write>): boolean {
    if (state.closed) return true;
    try {
      return inner(...args);
    } catch (error) {
      stop(state, error);
      return true;
    }
  } as Write;
  wrappers.add(wrapper);
  stream.write = wrapper;
}

/** Installs the guard on process.stdout and process.stderr (once per process). */
export function guardOutputStreams(): void {
  guard('stdout', process.stdout);
  guard('stderr', process.stderr);
}

/** The first write failure of a guarded stream other than a closed pipe, once; undefined when none. */
export function takeStreamFailure(): UserError | undefined {
  const taken = failure;
  failure = undefined;
  return taken;
}
