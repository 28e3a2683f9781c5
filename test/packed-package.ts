import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './repo-root.js';

/**
 * A project in `work` with simkit installed from its npm tarball (`npm pack` of this checkout's
 * built dist/) in node_modules/simkit; its dependencies are this checkout's own, linked, not
 * downloaded (faiss-node is built here against the system libfaiss). Returns the project folder.
 */
export function projectWithPackedSimkit(work: string): string {
  if (!existsSync(join(REPO_ROOT, 'dist', 'core', 'index.js')))
    throw new Error('dist/ is not built: run `make build` (make test builds it first)');
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--offline', '--json', '--pack-destination', work], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }),
  ) as { filename: string }[];
  const tarball = join(work, packed[0]!.filename);
  const project = join(work, 'project');
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, 'simkit'), { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', join(modules, 'simkit'), '--strip-components=1']);
  for (const entry of readdirSync(join(REPO_ROOT, 'node_modules'))) {
    if (entry !== 'simkit' && entry !== '.bin' && !entry.startsWith('.'))
      symlinkSync(join(REPO_ROOT, 'node_modules', entry), join(modules, entry));
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return project;
}
