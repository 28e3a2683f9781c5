import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

describe('faiss-node', () => {
  it('is the native addon built by this project against the system libfaiss, not a fallback', () => {
    const dir = dirname(require.resolve('faiss-node/package.json'));
    const addon = join(dir, 'build', 'Release', 'faiss-node.node');
    expect(existsSync(addon)).toBe(true);
    // The shim that replaces faiss's vendored sources is what the addon was configured with.
    const cache = readFileSync(join(dir, 'build', 'CMakeCache.txt'), 'utf8');
    expect(cache).toMatch(/faiss_DIR:PATH=\/usr\/(lib|share)/);
    const faiss = require('faiss-node') as typeof import('faiss-node');
    const index = new faiss.IndexFlatIP(2);
    index.add([1, 0, 0, 1, 0.6, 0.8]);
    const { labels, distances } = index.search([0.6, 0.8], 2);
    expect(labels).toEqual([2, 1]);
    expect(distances[0]).toBeCloseTo(1, 6);
    expect(distances[1]).toBeCloseTo(0.8, 6);
  });
});
