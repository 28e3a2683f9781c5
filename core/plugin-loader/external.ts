import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileModule, type ModuleSource } from '../di/container.js';
import { InputError } from '../errors.js';

/** Lists local plugin files: `{ "plugins": ["./my-plugin.js"] }`, paths relative to the file. */
export const PLUGIN_CONFIG_FILE = 'simkit.config.json';
export const PLUGIN_PACKAGE_PREFIX = 'simkit-plugin-';

/** The entry file of an installed package: `exports["."]` (import/default), then `main`, then index.js. */
function packageEntry(packageDir: string): string {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    main?: string;
    exports?: string | { '.'?: string | { import?: string; default?: string } };
  };
  const root = typeof manifest.exports === 'string' ? manifest.exports : manifest.exports?.['.'];
  const fromExports = typeof root === 'string' ? root : (root?.import ?? root?.default);
  return join(packageDir, fromExports ?? manifest.main ?? 'index.js');
}

/** `simkit-plugin-*` packages (and `@scope/simkit-plugin-*`) installed in `nodeModules`. */
export function pluginPackages(nodeModules: string): ModuleSource[] {
  if (!existsSync(nodeModules)) return [];
  const found: ModuleSource[] = [];
  for (const entry of readdirSync(nodeModules).sort()) {
    const names = entry.startsWith('@')
      ? readdirSync(join(nodeModules, entry)).map((name) => `${entry}/${name}`)
      : [entry];
    for (const name of names) {
      if (!name.split('/').at(-1)!.startsWith(PLUGIN_PACKAGE_PREFIX)) continue;
      const dir = join(nodeModules, name);
      found.push(lazyModule(() => packageEntry(dir), { source: name, module: dir }));
    }
  }
  return found;
}

/** A module whose entry file is found when it is loaded, so a broken package fails alone. */
function lazyModule(entry: () => string, origin: ModuleSource['origin']): ModuleSource {
  return { origin, load: () => fileModule(entry(), origin).load() };
}

/** Plugin paths listed in `simkit.config.json` of `cwd`. */
export function configuredPluginPaths(cwd: string): string[] {
  const file = join(cwd, PLUGIN_CONFIG_FILE);
  if (!existsSync(file)) return [];
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(file, undefined, undefined, `not valid JSON: ${(error as Error).message}`);
  }
  const plugins = (config as { plugins?: unknown }).plugins ?? [];
  if (!Array.isArray(plugins) || plugins.some((p) => typeof p !== 'string')) {
    throw new InputError(file, undefined, 'plugins', 'expected a list of plugin file paths');
  }
  return (plugins as string[]).map((path) => (isAbsolute(path) ? path : resolve(dirname(file), path)));
}

/**
 * Every external plugin: `simkit-plugin-*` packages in the project's node_modules (and in the
 * node_modules that holds simkit itself), files listed in `simkit.config.json`, and files in
 * SIMKIT_PLUGINS (separated by `:`). Each exports a ContainerModule as its default export.
 */
export function externalModules(
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
  simkitNodeModules?: string,
): ModuleSource[] {
  const folders = [
    ...new Set([join(cwd, 'node_modules'), ...(simkitNodeModules ? [simkitNodeModules] : [])].map((p) => resolve(p))),
  ];
  const paths = [
    ...configuredPluginPaths(cwd),
    ...(env.SIMKIT_PLUGINS ?? '')
      .split(':')
      .filter(Boolean)
      .map((p) => resolve(cwd, p)),
  ];
  return [
    ...folders.flatMap(pluginPackages),
    ...paths.map((path) => lazyModule(() => path, { source: path, module: path })),
  ];
}
