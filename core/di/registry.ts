import type { Registered } from '../contracts/registration.js';
import { UserError } from '../errors.js';

/** Components of one kind, looked up by name; unknown names fail with the list of known ones. */
export class Registry<T> {
  private readonly byName = new Map<string, Registered<T>>();

  constructor(
    readonly kind: string,
    entries: readonly Registered<T>[],
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

  create<O extends object>(name: string, options?: Partial<O>): T {
    return this.get(name).create(options);
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
