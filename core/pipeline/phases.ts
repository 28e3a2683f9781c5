import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync, writeFileSync } from 'node:fs';

/** One phase of a run: its wall time, the items it went through, and the process's peak memory while it ran. */
export interface PhaseRecord {
  /** Nested phases have their parents' names before theirs: `train/image/embed images`. */
  readonly name: string;
  readonly depth: number;
  /** Seconds from the start of the recording to the start of the phase. */
  readonly start: number;
  readonly seconds: number;
  /** Items (or samples) the phase went through, for a rate; null where a count means nothing. */
  readonly items: number | null;
  /**
   * Peak resident memory of the process (all threads: the decoder workers are threads of it) while the phase ran, in
   * MB; where the kernel lets the peak be reset (/proc/self/clear_refs), the peak within the phase, else since the
   * process started.
   */
  readonly peakRssMb: number;
}

interface Frame {
  readonly name: string;
  readonly depth: number;
  readonly parent: Frame | undefined;
  peakKb: number;
}

const recording = new AsyncLocalStorage<{ records: PhaseRecord[]; frame: Frame | undefined; origin: number }>();

let resettable: boolean | undefined;

/** The process's peak resident set (VmHWM) in kB, then resets it to the current size where Linux allows. */
function takePeakKb(): number {
  let peak: number;
  try {
    peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  } catch {
    peak = NaN;
  }
  if (!Number.isFinite(peak)) return process.resourceUsage().maxRSS;
  if (resettable !== false) {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
      resettable = true;
    } catch {
      resettable = false;
    }
  }
  return peak;
}

/** Folds a peak reading into every open phase (each keeps the largest it saw). */
function notePeak(frame: Frame | undefined, kb: number): void {
  for (let open = frame; open; open = open.parent) open.peakKb = Math.max(open.peakKb, kb);
}

/**
 * Runs `work` as a phase of the run being recorded (recordPhases), nested in the phase it is called from; outside a
 * recording it just runs `work`. `items` counts what the phase went through, from its result when a function.
 */
export async function phase<T>(
  name: string,
  work: () => Promise<T>,
  items?: number | ((result: T) => number),
): Promise<T> {
  const store = recording.getStore();
  if (!store) return work();
  const parent = store.frame;
  notePeak(parent, takePeakKb());
  const frame: Frame = {
    name: parent ? `${parent.name}/${name}` : name,
    depth: parent ? parent.depth + 1 : 0,
    parent,
    peakKb: 0,
  };
  const started = performance.now();
  const result = await recording.run({ ...store, frame }, work);
  notePeak(frame, takePeakKb());
  store.records.push({
    name: frame.name,
    depth: frame.depth,
    start: (started - store.origin) / 1000,
    seconds: (performance.now() - started) / 1000,
    items: typeof items === 'function' ? items(result) : (items ?? null),
    peakRssMb: Math.round(frame.peakKb / 1024),
  });
  return result;
}

/** Runs `work`, recording the phases it runs, in the order they started (a parent before its children). */
export async function recordPhases<T>(work: () => Promise<T>): Promise<{ result: T; phases: PhaseRecord[] }> {
  const records: PhaseRecord[] = [];
  const result = await recording.run({ records, frame: undefined, origin: performance.now() }, work);
  return { result, phases: records.sort((a, b) => a.start - b.start || a.depth - b.depth) };
}
