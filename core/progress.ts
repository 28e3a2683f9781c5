import cliProgress from 'cli-progress';

/** Per-step progress of one epoch: a bar with loss, samples/s and ETA on a terminal, nothing otherwise. */
export interface EpochProgress {
  step(loss: number, samples: number): void;
  stop(): void;
}

/** A bar on stderr that clears itself when done; `format` is cli-progress's. */
function stderrBar(format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { stream: process.stderr, format, hideCursor: true, clearOnComplete: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
}

const SILENT: EpochProgress = { step: () => {}, stop: () => {} };

/** A bar on stderr when it is a terminal (and `enabled` is not false); silent under CI and pipes. */
export function epochProgress(
  epoch: number,
  epochs: number,
  steps: number,
  enabled = process.stderr.isTTY === true,
): EpochProgress {
  if (!enabled || steps === 0) return SILENT;
  const bar = stderrBar(
    `epoch ${epoch}/${epochs} {bar} {value}/{total} steps  loss {loss}  {rate} samples/s  ETA {eta_formatted}`,
  );
  const started = Date.now();
  let samples = 0;
  let lossSum = 0;
  bar.start(steps, 0, { loss: '—', rate: '—' });
  return {
    step(loss, batchSamples) {
      samples += batchSamples;
      lossSum += loss * batchSamples;
      const seconds = (Date.now() - started) / 1000;
      bar.increment({ loss: (lossSum / samples).toFixed(4), rate: seconds > 0 ? (samples / seconds).toFixed(0) : '—' });
    },
    stop: () => bar.stop(),
  };
}

/** Progress of long work over items (embedding a test set, say): a bar on a terminal, nothing otherwise. */
export interface ItemProgress {
  advance(items: number): void;
  /** More items than first counted (another pass of a search, say). */
  grow(items: number): void;
  stop(): void;
}

/** Below this many items the work is too short for a bar. */
const ITEM_PROGRESS_MINIMUM = 1000;

/** A bar appears once its work has run this long, so that work that ends sooner leaves nothing on the screen. */
const ITEM_PROGRESS_DELAY_MS = 1000;

const SILENT_ITEMS: ItemProgress = { advance: () => {}, grow: () => {}, stop: () => {} };

/**
 * `minimum`: fewer items than this never get a bar (0 for work that is long per item: settings of a tuning, steps
 * of a chain).
 */
export function itemProgress(
  label: string,
  total: number,
  enabled = process.stderr.isTTY === true,
  minimum = ITEM_PROGRESS_MINIMUM,
): ItemProgress {
  if (!enabled || total < minimum) return SILENT_ITEMS;
  const bar = stderrBar(`${label} {bar} {value}/{total}  {rate}/s  ETA {eta_formatted}`);
  const started = Date.now();
  let shown = false;
  let done = 0;
  let expected = total;
  return {
    advance(items) {
      done += items;
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? (done / seconds).toFixed(done / seconds < 10 ? 1 : 0) : '—';
      if (!shown && seconds * 1000 >= ITEM_PROGRESS_DELAY_MS) {
        bar.start(expected, done, { rate });
        shown = true;
      } else if (shown) bar.update(done, { rate });
    },
    grow(items) {
      expected += items;
      if (shown) bar.setTotal(expected);
    },
    stop: () => {
      if (shown) bar.stop();
    },
  };
}
