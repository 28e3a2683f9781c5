import { resolve } from 'node:path';

/** The repository's root, wherever the test that imports this sits in the tree. */
export const REPO_ROOT = resolve(import.meta.dirname, '..');
