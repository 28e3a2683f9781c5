// test/ mirrors the source tree, so that a source file's tests are one hop away: the tests of
// core/data/images.ts are in test/core/data/, those of plugins/losses/ in test/plugins/losses/.
// A competition's own tests live in competitions/<slug>/test/, so that adding one touches only its folder.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './repo-root.js';

const TEST_ROOT = join(REPO_ROOT, 'test');

function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((path) => statSync(join(dir, path)).isFile());
}

describe('test tree', () => {
  it('puts every test file in a folder named after a source folder', () => {
    const astray = filesUnder(TEST_ROOT)
      .map((path) => dirname(path))
      .filter((folder) => folder !== '.' && !existsSync(join(REPO_ROOT, folder)));
    expect([...new Set(astray)]).toEqual([]);
  });

  it('keeps each competition test inside its competition’s test/ folder', () => {
    const competitions = join(REPO_ROOT, 'competitions');
    const astray = filesUnder(competitions)
      .filter((path) => path.endsWith('.test.ts'))
      .filter((path) => path.split(sep)[1] !== 'test')
      .map((path) => relative(REPO_ROOT, join(competitions, path)));
    expect(astray).toEqual([]);
  });
});
