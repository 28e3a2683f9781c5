import { createRequire } from 'node:module';
import { Simkit } from '../di/container.js';
import { log } from '../log.js';
import { externalModules } from '../plugin-loader/external.js';

/** node_modules of the simkit installation itself (its own plugins can live beside it). */
const ownDependency = createRequire(import.meta.url).resolve('commander');
const OWN_NODE_MODULES = ownDependency.slice(0, ownDependency.lastIndexOf('node_modules') + 'node_modules'.length);

/** SIMKIT_NO_PLUGINS=1 (like --no-plugins) loads only simkit's own features. */
export function pluginsDisabledByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SIMKIT_NO_PLUGINS === '1';
}

/**
 * Shared, lazily built state for CLI commands: the container (built-in features plus external
 * plugins) is built once per process; a plugin that fails to load is reported, the rest work.
 * External plugins run with the user's rights, so `--verbose` names each one and where it was
 * loaded from, and `--no-plugins` leaves them all out.
 */
export class CliContext {
  private app?: Promise<Simkit>;
  /** Set by --no-plugins. */
  noPlugins = false;

  simkit(): Promise<Simkit> {
    this.app ??= this.create();
    return this.app;
  }

  private async create(): Promise<Simkit> {
    if (this.noPlugins || pluginsDisabledByEnv()) {
      log.debug('external plugins: none loaded (--no-plugins or SIMKIT_NO_PLUGINS=1)');
      return Simkit.create();
    }
    const extra = externalModules(process.cwd(), process.env, OWN_NODE_MODULES);
    const app = await Simkit.create({ extra });
    const failed = new Set(app.failures.map((failure) => failure.origin));
    for (const failure of app.failures)
      log.warn(`plugin ${failure.origin.source} failed to load: ${failure.error.message}`);
    log.debug(`external plugins: ${extra.length === 0 ? 'none found' : `${extra.length - failed.size} loaded`}`);
    for (const source of extra)
      if (!failed.has(source.origin)) log.debug(`  plugin ${source.origin.source} from ${source.origin.module}`);
    return app;
  }
}
