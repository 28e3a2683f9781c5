import type { Components, OptionRange, Registered } from '../contracts/registration.js';
import { outOfRange } from './option-ranges.js';
import { UserError } from '../errors.js';

/** Components of one kind, looked up by name; unknown names fail with the list of known ones. */
export class Registry<T> {
  private readonly byName = new Map<string, Registered<T>>();

  /** `components` is handed to each `create`, for components made of others by name. */
  constructor(
    readonly kind: string,
    entries: readonly Registered<T>[],
    private readonly components?: Components,
  ) {
    for (const entry of entries) {
      const existing = this.byName.get(entry.name);
      if (existing) {
        throw new UserError(
          `${kind} "${entry.name}" is registered twice (${describeOrigin(existing)} and ${describeOrigin(entry)})`,
          'rename one of them',
        );
      }
      this.byName.set(entry.name, entry);
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): Registered<T> {
    const entry = this.byName.get(name);
    if (!entry) {
      throw new UserError(
        `unknown ${this.kind} "${name}"`,
        `known: ${this.names().join(', ') || '(none registered)'}; see \`simkit list\``,
      );
    }
    return entry;
  }

  /**
   * The component built from its defaults merged with `options`, after checkOptions.
   */
  create(name: string, options: object = {}): T {
    const entry = this.checkOptions(name, options);
    return entry.create({ ...entry.defaults, ...options }, this.components);
  }

  /**
   * Refuses options a component does not have (the error lists the ones it has) and values outside
   * the ranges its registration declares, before anything is built.
   */
  checkOptions(name: string, options: object = {}): Registered<T> {
    const entry = this.get(name);
    const known = Object.keys(entry.defaults);
    const unknown = Object.keys(options).filter((key) => !known.includes(key));
    if (unknown.length > 0) {
      throw new UserError(
        `${this.kind} "${name}" has no option ${unknown.map((key) => `"${key}"`).join(', ')}; its options: ${known.join(', ') || '(none)'}`,
        'fix the option names in the config (`--print-config` shows every default)',
      );
    }
    const wrong = outOfRange(
      { ...entry.defaults, ...options },
      (entry.ranges ?? {}) as Record<string, OptionRange | undefined>,
    );
    if (wrong)
      throw new UserError(
        `${this.kind} "${name}" option ${wrong.option}: ${wrong.problem}`,
        'fix the value in the config (`simkit list` describes the components)',
        1,
      );
    return entry;
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  list(): Registered<T>[] {
    return this.names().map((name) => this.byName.get(name)!);
  }
}

export function describeOrigin(entry: Registered<unknown>): string {
  return entry.origin ? `${entry.origin.source}: ${entry.origin.module}` : 'unknown origin';
}
