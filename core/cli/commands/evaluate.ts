import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { UserError } from '../../errors.js';
import { DEFAULT_EVALUATION, evaluateEmbeddings, evaluationTable, type Evaluation } from '../../search/evaluate.js';
import { labelledEmbeddings, readLabels, validationFiles, validationRunDir } from '../../search/labelled-embeddings.js';
import { log } from '../../log.js';
import { readReportData, writeReportData } from '../../report/report-data.js';
import { writeReport } from '../../report/render.js';

interface EvaluateOptions {
  run?: string;
  embeddings?: string;
  labels?: string;
  gallery?: string;
  k: number[];
  fmr: number[];
  json?: boolean;
}

/** A commander parser for a comma-separated list of numbers that each satisfy `valid`. */
function numberList(valid: (value: number) => boolean, expected: string): (text: string) => number[] {
  return (text) => {
    const values = text.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part)));
    if (values.length === 0 || !values.every(valid)) throw new InvalidArgumentError(`expected ${expected}.`);
    return values;
  };
}

export function formatEvaluation(what: string, evaluation: Evaluation): string {
  const lines = [
    `${what}: ${evaluation.retrieval.queries} queries with a relevant item (${evaluation.retrieval.loneQueries} without), ` +
      `${evaluation.genuinePairs} genuine and ${evaluation.impostorPairs} impostor pairs`,
    ...evaluationTable(evaluation).map(([name, value]) => `  ${name.padEnd(16)} ${value.toFixed(4)}`),
  ];
  return lines.join('\n');
}

export function registerEvaluate(program: Command, _context: CliContext): void {
  program
    .command('evaluate')
    .description(
      "CMC@k, precision@k, MAP@R, mAP@k and FNMR@FMR of a run's validation embeddings, or of any embeddings file with labels",
    )
    .option(
      '--run <dir>',
      "a run's output directory (output/<slug>, or its run folder): its validation joins its report",
    )
    .option('--embeddings <file>', 'query embeddings file (simkit embed)')
    .option('--labels <csv>', 'CSV with columns id, label (the first of space-separated labels counts; empty: none)')
    .option('--gallery <file>', 'embeddings file the queries search (default: the queries search each other)')
    .option(
      '--k <list>',
      'cut-offs of CMC, precision and mAP',
      numberList((k) => Number.isInteger(k) && k >= 1, 'whole numbers ≥ 1, comma-separated'),
      [...DEFAULT_EVALUATION.cutoffs],
    )
    .option(
      '--fmr <list>',
      'false match rates of FNMR@FMR',
      numberList((f) => f >= 0 && f < 1, 'rates in [0, 1), comma-separated'),
      [...DEFAULT_EVALUATION.falseMatchRates],
    )
    .option('--json', 'print one JSON object of the metrics')
    .action(async (options: EvaluateOptions) => {
      if (Boolean(options.run) === Boolean(options.embeddings))
        throw new UserError('evaluate needs either --run or --embeddings (with --labels)', 'pass one of them');
      if (options.embeddings && !options.labels)
        throw new UserError('--embeddings needs --labels', 'pass a CSV with columns id, label');
      const runDir = options.run ? validationRunDir(resolve(options.run)) : undefined;
      const files = runDir
        ? validationFiles(runDir)
        : { queries: options.embeddings!, gallery: options.gallery, labels: options.labels! };
      const labels = await readLabels(files.labels);
      const queries = labelledEmbeddings(files.queries, labels, files.labels);
      const gallery = files.gallery ? labelledEmbeddings(files.gallery, labels, files.labels) : undefined;
      if (gallery && gallery.dim !== queries.dim)
        throw new UserError(
          `${files.gallery} has dimension ${gallery.dim} but ${files.queries} has ${queries.dim}`,
          'embed both with the same model',
        );
      const evaluation = evaluateEmbeddings(queries.set, gallery?.set, queries.dim, {
        cutoffs: options.k,
        falseMatchRates: options.fmr,
      });
      const table = evaluationTable(evaluation);
      process.stdout.write(
        options.json
          ? `${JSON.stringify(Object.fromEntries([['queries', evaluation.retrieval.queries], ...table]))}\n`
          : `${formatEvaluation(options.run ? `${options.run} validation` : files.queries, evaluation)}\n`,
      );
      if (runDir) {
        const { data, problem } = await readReportData(runDir);
        if (!data) throw new UserError(`cannot add the metrics to the report of ${runDir}: ${problem}`);
        const retrieval = Object.fromEntries(table.map(([name, value]) => [`validation ${name}`, value]));
        await writeReportData(runDir, { ...data, summary: { ...data.summary, ...retrieval } });
        const { path, problems } = await writeReport(runDir);
        for (const warning of problems) log.warn(warning);
        log.info(`added to ${path}`);
      }
    });
}
