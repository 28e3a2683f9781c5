import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import { FASHION_MNIST_SLUG } from '../../competitions/fashion-mnist/competition.js';
import type { Competition, CompetitionRegistration } from '../../core/contracts/competition.js';
import { Simkit } from '../../core/di/container.js';
import { findCompetition } from '../../core/pipeline/prepare.js';

let app: Promise<Simkit> | undefined;

/**
 * Every adapter variant the registry holds: each competition's name, plus each Kaggle slug that
 * selects another adapter (the Herbarium editions other than the default). Fashion-MNIST's
 * real-data sample is not in a Kaggle layout; test/fashion-mnist covers it.
 */
async function registeredVariants(): Promise<string[]> {
  app ??= Simkit.create();
  const entries = (await app).registry<Competition>('Competition').list() as CompetitionRegistration[];
  return entries
    .filter((entry) => entry.name !== FASHION_MNIST_SLUG)
    .flatMap((entry) => {
      const main = entry.create({}).slug;
      const editions = Object.entries(entry.slugs).filter(([, options]) => entry.create(options).slug !== main);
      return [entry.name, ...editions.map(([slug]) => slug)];
    });
}

export const VARIANTS: readonly string[] = await registeredVariants();

/** The adapter registered under an alias or serving a Kaggle slug, found through the container. */
export async function competition(name: string): Promise<Competition> {
  app ??= Simkit.create();
  return findCompetition(await app, name).competition;
}

/** SHA-256 over every file's relative path and bytes, in sorted order. */
export function treeHash(dir: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) hash.update(relative(dir, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

/** A CSV file parsed by csv-parse: header and rows, every value a string. */
export function readCsvFile(path: string): { header: string[]; rows: string[][] } {
  const [header, ...rows] = parse(readFileSync(path), { bom: true });
  return { header: header!, rows };
}
