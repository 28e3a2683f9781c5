import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { log } from '../log.js';
import { TRAINING_LOG_FILE } from '../report/training-log.js';
import type { EpochRecord, TrainingCallback } from './callbacks.js';

function logLine(record: EpochRecord): string {
  return `${JSON.stringify({ type: 'epoch', ...record })}\n`;
}

/** Each epoch as one line on the console and, with a run directory, one JSON line of `<runDir>/log.jsonl`. */
export function epochLog(runDir: string | undefined): TrainingCallback {
  const logFile = runDir ? join(runDir, TRAINING_LOG_FILE) : undefined;
  return {
    onStart: async (loop) => {
      if (!logFile) return;
      // A resumed log is rewritten from the checkpoint: a run killed after an epoch's log line but
      // before its checkpoint would otherwise log that epoch twice.
      if (loop.resumedFrom !== null) await writeFileAtomic(logFile, loop.state.history.map(logLine).join(''));
      else await writeFile(logFile, '');
    },
    onEpochEnd: async (record, loop) => {
      const metrics = Object.entries(record.validation ?? {})
        .map(([k, v]) => ` ${k} ${v.toFixed(4)}`)
        .join('');
      const wait = record.dataWait === undefined ? '' : ` (data wait ${(record.dataWait * 100).toFixed(0)}%)`;
      log.info(
        `epoch ${record.epoch}/${loop.epochs}  loss ${record.loss.toFixed(4)}  lr ` +
          `${record.learningRate.toExponential(2)}  ${record.samplesPerSecond.toFixed(0)} samples/s${wait}${metrics}`,
      );
      if (logFile) await appendFile(logFile, logLine(record));
    },
  };
}
