import cliProgress from 'cli-progress';

/** Per-step progress of one epoch: a bar with loss, samples/s and ETA on a terminal, nothing otherwise. */
export interface EpochProgress {
  step(loss: number, samples: number): void;
  stop(): void;
}

const SILENT: EpochProgress = { step: () => {}, stop: () => {} };

/** A bar on stderr when it is a terminal (and `enabled` is not false); silent under CI and pipes. */
export function epochProgress(epoch: number, epochs: number, steps: number, enabled = process.stderr.isTTY === true): EpochProgress {
  if (!enabled || steps === 0) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `epoch ${epoch}/${epochs} {bar} {value}/{total} steps  loss {loss}  {rate} samples/s  ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
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
