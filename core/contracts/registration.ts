import type { ComponentKind } from './component-tokens.js';

/**
 * What a plugin registers for one named component: a description for `simkit list`, the
 * documented defaults of its options, and a factory. `origin` is filled in by the container
 * (the module that registered it), so users can see where each component comes from.
 *
 * `defaults` names every option: `Registry.create` rejects any other and hands `create` the
 * defaults merged with the options given, so a factory need not repeat its defaults; it may type
 * its parameter as the complete options (`create: (options: MyOptions) => …`).
 */
export interface Registration<T, Options extends object = Record<string, unknown>> {
  readonly name: string;
  readonly description: string;
  readonly defaults: Options;
  /**
   * One line per option for `simkit list <kind> <name>`. Built-in components leave it out: theirs
   * are the doc comments of their option types (core/cli/option-docs.json, `make option-docs`).
   */
  readonly optionDescriptions?: { readonly [option: string]: string };
  /** What each numeric option may be; checked with the option names before any work (core/di/option-ranges.ts). */
  readonly ranges?: { readonly [K in keyof Options]?: OptionRange };
  /** `components` builds the components it names (a loss's distance); the registry always passes it. */
  create(options?: Partial<Options>, components?: Components): T;
}

/**
 * The registered components of every kind, for a component made of others by name (a loss's distance, reducer and
 * regulariser, a competition's task strategy): `create` merges and checks the options as `Registry.create` does.
 */
export interface Components {
  create<T>(kind: ComponentKind, name: string, options?: object): T;
}

/** What a number must be: an integer or any finite value, within bounds. */
export interface NumberRule {
  readonly integer?: boolean;
  readonly min?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  readonly max?: number;
  /** Exclusive upper bound. */
  readonly below?: number;
}

/** A rule for an option's value: one number, or a list of them (`each`), or an ascending [low, high] (`pair`). */
export interface OptionRange extends NumberRule {
  readonly each?: boolean;
  readonly pair?: boolean;
  /** The option may be left out (undefined) or null. */
  readonly optional?: boolean;
}

export interface Origin {
  /** `builtin`, an npm package name, or a local path. */
  readonly source: string;
  readonly module: string;
}

export type Registered<T> = Registration<T, object> & { origin?: Origin };
