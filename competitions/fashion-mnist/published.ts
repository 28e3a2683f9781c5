import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** Where the Debian package puts the dataset's README (with the submitted-benchmark table) and baselines.json. */
export const PACKAGE_DOC_DIR = '/usr/share/doc/dataset-fashion-mnist';

export interface PublishedResult {
  readonly classifier: string;
  readonly preprocessing: string;
  readonly accuracy: number;
  readonly submitter: string;
}

/** Plain text of a Markdown cell: links `[text](url)` become `text`. */
function cellText(cell: string): string {
  return cell.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').trim();
}

/**
 * Rows of the README's table "Classifier | Preprocessing | Fashion test accuracy | MNIST test
 * accuracy | Submitter | Code" (test accuracies as submitted; the dataset's authors did not verify them).
 */
export function parseBenchmarkTable(markdown: string): PublishedResult[] {
  const results: PublishedResult[] = [];
  for (const line of markdown.split('\n')) {
    const cells = line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map(cellText);
    if (cells.length < 5) continue;
    const accuracy = Number(cells[2]);
    if (cells[2] === '' || !Number.isFinite(accuracy) || accuracy <= 0 || accuracy > 1) continue;
    results.push({ classifier: cells[0]!, preprocessing: cells[1]!, accuracy, submitter: cells[4]! });
  }
  return results;
}

export async function readPublishedResults(docDir = PACKAGE_DOC_DIR): Promise<PublishedResult[]> {
  return parseBenchmarkTable(gunzipSync(await readFile(`${docDir}/README.md.gz`)).toString('utf8'));
}

/**
 * `n_neighbors` values of the KNeighborsClassifier grid in the package's benchmark/baselines.json
 * (the file lists the parameter grids of the scikit-learn baselines, not their scores).
 */
export async function readKnnGrid(docDir = PACKAGE_DOC_DIR): Promise<number[]> {
  const baselines = JSON.parse(await readFile(`${docDir}/benchmark/baselines.json`, 'utf8')) as {
    classifiers?: Record<string, Record<string, unknown[]>[]>;
  };
  const grid = baselines.classifiers?.KNeighborsClassifier ?? [];
  return grid.flatMap((entry) => (entry.n_neighbors ?? []).filter((k): k is number => typeof k === 'number'));
}
