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
  stop(): void;
}

/** Below this many items the work is too short for a bar. */
const ITEM_PROGRESS_MINIMUM = 1000;

export function itemProgress(label: string, total: number, enabled = process.stderr.isTTY === true): ItemProgress {
  if (!enabled || total < ITEM_PROGRESS_MINIMUM) return { advance: () => {}, stop: () => {} };
  const bar = stderrBar(`${label} {bar} {value}/{total}  {rate}/s  ETA {eta_formatted}`);
  const started = Date.now();
  let done = 0;
  bar.start(total, 0, { rate: '—' });
  return {
    advance(items) {
      done += items;
      const seconds = (Date.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? (done / seconds).toFixed(0) : '—' });
    },
    stop: () => bar.stop(),
  };
}
