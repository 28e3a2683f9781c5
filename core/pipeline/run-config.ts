import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CompetitionConfig, Json } from '../contracts/competition.js';
import { InputError, UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { checkConfig } from './config-check.js';

/** `<out>/config.json`: what a run (or a training) used, read back by `simkit embed` and `--resume`. */
export const RUN_CONFIG_FILE = 'config.json';
export const RUN_CONFIG_FORMAT = 'simkit-run-config/2';

/**
 * The one shape of config.json: the format, the competition's alias, the seed, the effective
 * config (every default filled in) and, after a full run, the settings tuned and learned on validation.
 */
export type RunConfig = CompetitionConfig & {
  readonly format: typeof RUN_CONFIG_FORMAT;
  readonly competition: string;
  readonly seed: number;
  readonly tuned?: { readonly [key: string]: Json };
  readonly fitted?: { readonly [key: string]: Json };
};

export function runConfigPath(out: string): string {
  return join(out, RUN_CONFIG_FILE);
}

/** Writes `<out>/config.json` atomically. */
export async function writeRunConfig(out: string, config: Omit<RunConfig, 'format'>): Promise<string> {
  const path = runConfigPath(out);
  await writeFileAtomic(path, `${JSON.stringify({ format: RUN_CONFIG_FORMAT, ...config }, null, 2)}\n`);
  return path;
}

/** Reads and checks `<out>/config.json`; every problem names the file and the field. */
export async function readRunConfig(out: string): Promise<RunConfig> {
  const path = runConfigPath(out);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new UserError(
        `${path} does not exist`,
        'pass the --out directory of a finished `simkit run` or `simkit train`',
      );
    throw new InputError(path, undefined, undefined, `cannot be read (${code})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(path, undefined, undefined, `not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InputError(path, undefined, undefined, 'expected a JSON object');
  const config = value as Partial<RunConfig>;
  if (config.format !== RUN_CONFIG_FORMAT) {
    throw new InputError(
      path,
      undefined,
      'format',
      `expected "${RUN_CONFIG_FORMAT}", got ${JSON.stringify(config.format)}: written by another simkit version; run again to rewrite it`,
    );
  }
  if (typeof config.competition !== 'string')
    throw new InputError(
      path,
      undefined,
      'competition',
      `expected a competition name, got ${JSON.stringify(config.competition)}`,
    );
  checkConfig(config as RunConfig, path);
  return config as RunConfig;
}
