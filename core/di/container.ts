import 'reflect-metadata';
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Container, ContainerModule } from 'inversify';
import type { Components, Origin, Registered } from '../contracts/registration.js';
import { TOKENS, type ComponentKind } from '../contracts/component-tokens.js';
import { Registry } from './registry.js';

/** Where compiled (dist/) or source (tsx, vitest) modules live: two levels above this file. */
const CODE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODULE_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
/** Each feature folder exports its ContainerModule as the default export of this file. */
export const MODULE_FILE = `di.config${MODULE_EXT}`;
const BUILTIN_AREAS = ['plugins', 'competitions'] as const;

export interface ModuleSource {
  readonly origin: Origin;
  load(): Promise<ContainerModule>;
}

export interface PluginFailure {
  readonly origin: Origin;
  readonly error: Error;
}

/** Finds the built-in feature modules: `plugins/<feature>/di.config` and `competitions/<slug>/di.config`. */
export async function builtinModules(codeRoot = CODE_ROOT): Promise<ModuleSource[]> {
  const sources: ModuleSource[] = [];
  for (const area of BUILTIN_AREAS) {
    const areaDir = join(codeRoot, area);
    if (!existsSync(areaDir)) continue;
    const folders = (await readdir(areaDir, { withFileTypes: true })).filter((d) => d.isDirectory());
    for (const folder of folders.map((d) => d.name).sort()) {
      const file = join(areaDir, folder, MODULE_FILE);
      if (existsSync(file)) sources.push(fileModule(file, { source: 'builtin', module: `${area}/${folder}` }));
    }
  }
  return sources;
}

/** A module file whose default export (or export named `module`) is a ContainerModule. */
export function fileModule(file: string, origin: Origin): ModuleSource {
  return {
    origin,
    async load() {
      const exported = (await import(pathToFileURL(file).href)) as { default?: unknown; module?: unknown };
      const candidate = exported.default ?? exported.module;
      if (!(candidate instanceof ContainerModule)) {
        throw new Error(`${file} does not export a ContainerModule (default export expected)`);
      }
      return candidate;
    },
  };
}

/**
 * The application container: built-in features plus any external plugins. A plugin that fails
 * to load is recorded in `failures` and the others still work.
 */
export class Simkit {
  readonly failures: PluginFailure[] = [];
  private readonly registries = new Map<ComponentKind, Registry<unknown>>();
  /** The modules that registered each component name, in load order, by kind. */
  private readonly origins = new Map<ComponentKind, Map<string, Origin[]>>();

  /** Every kind's registry by kind, handed to each component's `create` (see Components). */
  readonly components: Components = {
    create: <T>(kind: ComponentKind, name: string, options?: object) => this.registry<T>(kind).create(name, options),
  };

  private constructor(readonly container: Container) {}

  static async create(options: { sources?: ModuleSource[]; extra?: ModuleSource[] } = {}): Promise<Simkit> {
    const app = new Simkit(new Container());
    const sources = [...(options.sources ?? (await builtinModules())), ...(options.extra ?? [])];
    for (const source of sources) await app.loadModule(source);
    return app;
  }

  private async loadModule(source: ModuleSource): Promise<void> {
    const kinds = Object.keys(TOKENS) as ComponentKind[];
    const before = new Map(kinds.map((kind) => [kind, this.bound(kind).length]));
    try {
      await this.container.loadAsync(await source.load());
    } catch (error) {
      this.failures.push({ origin: source.origin, error: error instanceof Error ? error : new Error(String(error)) });
      return;
    }
    for (const kind of kinds) {
      const origins = this.origins.get(kind) ?? new Map<string, Origin[]>();
      this.origins.set(kind, origins);
      for (const value of this.bound(kind).slice(before.get(kind))) {
        if (typeof value === 'string') origins.set(value, [...(origins.get(value) ?? []), source.origin]);
        else value.origin ??= source.origin;
      }
    }
  }

  /**
   * What is bound under a kind's token, in registration order: the names `registrations()` binds
   * (each component under its own token), or registrations a plugin bound there directly.
   */
  private bound(kind: ComponentKind): (string | Registered<unknown>)[] {
    const token = TOKENS[kind];
    return this.container.isBound(token) ? this.container.getAll<string | Registered<unknown>>(token) : [];
  }

  /**
   * The registrations of a kind. A named one is resolved by its own token, so that what a plugin
   * rebound or decorated there is what the registry holds; resolved once every module has loaded.
   */
  private all<T>(kind: ComponentKind): Registered<T>[] {
    const names = new Set<string>();
    return this.bound(kind).flatMap((value) => {
      if (typeof value !== 'string') return [value as Registered<T>];
      if (names.has(value)) return [];
      names.add(value);
      return this.container.getAll<Registered<T>>(componentToken(kind, value)).map((entry, i) => {
        entry.origin ??= this.origins.get(kind)?.get(value)?.[i];
        return entry;
      });
    });
  }

  registry<T>(kind: ComponentKind): Registry<T> {
    let registry = this.registries.get(kind);
    if (!registry) {
      registry = new Registry<unknown>(
        kind.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase(),
        this.all(kind),
        this.components,
      );
      this.registries.set(kind, registry);
    }
    return registry as Registry<T>;
  }
}

/**
 * The service identifier of one registered component. A plugin module replaces a built-in with
 * `rebind(componentToken(kind, name)).toConstantValue(…)` or wraps it with
 * `onActivation(componentToken(kind, name), (_, builtin) => …)` (see `decorateComponent`).
 */
export function componentToken(kind: ComponentKind, name: string): symbol {
  return Symbol.for(`simkit.${kind}.${name}`);
}

/** Binds registrations of one kind; the usual body of a feature's di.config. `TOKENS[kind]` lists the names. */
export function registrations<T>(kind: ComponentKind, entries: readonly Registered<T>[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const entry of entries) {
      bind(TOKENS[kind]).toConstantValue(entry.name);
      bind(componentToken(kind, entry.name)).toConstantValue(entry);
    }
  });
}

/**
 * A module that wraps the component registered as `name`, whichever module registered it (a competition's reader, an
 * indexer).
 */
export function decorateComponent<T>(
  kind: ComponentKind,
  name: string,
  decorate: (builtin: Registered<T>) => Registered<T>,
): ContainerModule {
  return new ContainerModule(({ onActivation }) => {
    onActivation<Registered<T>>(componentToken(kind, name), (_context, builtin) => decorate(builtin));
  });
}

/** One ContainerModule loading several (a feature that registers components of several kinds). */
export function combineModules(...modules: ContainerModule[]): ContainerModule {
  return new ContainerModule(async (options) => {
    for (const module of modules) await module.load(options);
  });
}
