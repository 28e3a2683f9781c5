import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** File the training loop appends to: one JSON object per epoch (with a numeric `epoch`), then a summary object. */
export const TRAINING_LOG_FILE = 'log.jsonl';

export interface TrainingLog {
  /**
   * Numeric fields of each epoch line (nested objects flattened to `a.b`), by epoch; a later line for the same epoch
   * wins (resumed runs).
   */
  readonly epochs: readonly { readonly epoch: number; readonly values: Readonly<Record<string, number>> }[];
  /** The last line without an `epoch`, flattened; strings and numbers only. */
  readonly summary: Readonly<Record<string, number | string>> | null;
  /** Lines that could not be used, e.g. `line 7: not valid JSON`. */
  readonly problems: readonly string[];
  /** False when the file does not exist. */
  readonly found: boolean;
}

function flatten(value: unknown, prefix: string, out: Record<string, number | string>): void {
  if (typeof value === 'number' || typeof value === 'string') out[prefix] = value;
  else if (typeof value === 'boolean') out[prefix] = String(value);
  else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  }
}

export async function readTrainingLog(runDir: string): Promise<TrainingLog> {
  let text: string;
  try {
    text = await readFile(join(runDir, TRAINING_LOG_FILE), 'utf8');
  } catch {
    return { epochs: [], summary: null, problems: [], found: false };
  }
  const byEpoch = new Map<number, Record<string, number>>();
  let summary: Record<string, number | string> | null = null;
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`line ${i + 1}: not valid JSON`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`line ${i + 1}: not a JSON object`);
      return;
    }
    const fields: Record<string, number | string> = {};
    flatten(value, '', fields);
    const epoch = fields.epoch;
    if (typeof epoch !== 'number') {
      summary = fields;
      return;
    }
    const numbers: Record<string, number> = {};
    for (const [key, field] of Object.entries(fields))
      if (key !== 'epoch' && typeof field === 'number') numbers[key] = field;
    byEpoch.set(epoch, numbers);
  });
  const epochs = [...byEpoch].sort((a, b) => a[0] - b[0]).map(([epoch, values]) => ({ epoch, values }));
  return { epochs, summary, problems, found: true };
}

export type CurveKind = 'loss' | 'learning rate' | 'metric' | 'other';

/** Which chart a logged field belongs on, by its name. */
export function curveKind(field: string): CurveKind {
  const last = field.split('.').pop()!;
  if (/^(lr|learningRate|learning_rate)$/i.test(last)) return 'learning rate';
  if (/loss/i.test(field)) return 'loss';
  if (
    /^(step|steps|seconds|ms|time|timestamp|elapsed\w*|\w*(Seconds|Ms|Time|Wait)|samples|batches|examples|\w*PerSecond)$/i.test(
      last,
    )
  )
    return 'other';
  return 'metric';
}
