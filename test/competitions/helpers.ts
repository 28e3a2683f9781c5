import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Competition } from '../../core/contracts/competition.js';
import { Simkit } from '../../core/di/container.js';
import { findCompetition } from '../../core/pipeline/run.js';

/** Every adapter variant: the aliases, plus the Herbarium editions other than the default. */
export const VARIANTS = [
  'shopee',
  'landmarks',
  'landmark-retrieval',
  'hotels',
  'herbarium-2019-fgvc6',
  'herbarium-2020-fgvc7',
  'herbarium-2021-fgvc8',
  'herbarium',
  'whales',
  'protein',
] as const;

let app: Promise<Simkit> | undefined;

/** The adapter registered under an alias or serving a Kaggle slug, found through the container. */
export async function competition(name: string): Promise<Competition> {
  app ??= Simkit.create();
  return findCompetition(await app, name).competition;
}

/** SHA-256 over every file's relative path and bytes, in sorted order. */
export function treeHash(dir: string): string {
  const hash = createHash('sha256');
  const files = (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) hash.update(relative(dir, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

/** A CSV file parsed by csv-parse: header and rows, every value a string. */
export function readCsvFile(path: string): { header: string[]; rows: string[][] } {
  const [header, ...rows] = parse(readFileSync(path), { bom: true }) as string[][];
  return { header: header!, rows };
}
