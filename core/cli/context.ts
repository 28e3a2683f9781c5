import { createRequire } from 'node:module';
import { Simkit } from '../di/container.js';
import { log } from '../log.js';
import { externalModules } from '../plugins/external.js';

/** node_modules of the simkit installation itself (its own plugins can live beside it). */
const ownDependency = createRequire(import.meta.url).resolve('commander');
const OWN_NODE_MODULES = ownDependency.slice(0, ownDependency.lastIndexOf('node_modules') + 'node_modules'.length);

/**
 * Shared, lazily built state for CLI commands: the container (built-in features plus external
 * plugins) is built once per process; a plugin that fails to load is reported, the rest work.
 */
export class CliContext {
  private app?: Promise<Simkit>;

  simkit(): Promise<Simkit> {
    this.app ??= Simkit.create({ extra: externalModules(process.cwd(), process.env, OWN_NODE_MODULES) }).then((app) => {
      for (const failure of app.failures) log.warn(`plugin ${failure.origin.source} failed to load: ${failure.error.message}`);
      return app;
    });
    return this.app;
  }
}

