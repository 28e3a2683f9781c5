import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { KIND_NAMES, type ComponentKind } from '../../contracts/component-tokens.js';
import { UserError } from '../../errors.js';
import { describeOrigin } from '../../di/registry.js';
import type { Registered } from '../../contracts/registration.js';
import { describeOptions } from '../component-options.js';

export function registerList(program: Command, context: CliContext): void {
  program
    .command('list')
    .description(`show registered components: ${Object.keys(KIND_NAMES).join('|')} (all when omitted)`)
    .argument('[kind]', 'which kind of component')
    .argument('[name]', 'one component: every option with its default and what it means')
    .option('--origin', 'show which module registered each component')
    .action(async (kindName: string | undefined, name: string | undefined, options: { origin?: boolean }) => {
      const kinds: [string, ComponentKind][] = kindName ? [[kindName, kindOf(kindName)]] : Object.entries(KIND_NAMES);
      const app = await context.simkit();
      if (name !== undefined) {
        process.stdout.write(`${componentOptions(app.registry(kinds[0]![1]).get(name))}\n`);
        return;
      }
      const lines: string[] = [];
      for (const [plural, kind] of kinds) {
        const entries = app.registry(kind).list();
        lines.push(`${plural} (${entries.length})`);
        const width = Math.max(0, ...entries.map((e) => e.name.length));
        for (const entry of entries) {
          const origin = options.origin ? `  [${describeOrigin(entry)}]` : '';
          lines.push(`  ${entry.name.padEnd(width)}  ${entry.description}${origin}`);
        }
      }
      for (const failure of app.failures) {
        lines.push(
          `failed to load plugin ${failure.origin.source}: ${failure.origin.module}: ${failure.error.message}`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** A component's description and origin, then one line per option: name, default, description. */
function componentOptions(entry: Registered<unknown>): string {
  const rows = describeOptions(entry);
  const lines = [`${entry.name}: ${entry.description}  [${describeOrigin(entry)}]`];
  if (rows.length === 0) return [...lines, '  no options'].join('\n');
  const nameWidth = Math.max('option'.length, ...rows.map((row) => row.name.length));
  const valueWidth = Math.min(40, Math.max('default'.length, ...rows.map((row) => row.value.length)));
  lines.push(`  ${'option'.padEnd(nameWidth)}  ${'default'.padEnd(valueWidth)}  description`);
  for (const row of rows) {
    // A long default (a nested object) gets its own line, so that the descriptions stay aligned.
    const long = row.value.length > valueWidth;
    const value = long ? '' : row.value;
    lines.push(`  ${row.name.padEnd(nameWidth)}  ${value.padEnd(valueWidth)}  ${row.description || '—'}`.trimEnd());
    if (long) lines.push(`    = ${row.value}`);
  }
  return lines.join('\n');
}

function kindOf(name: string): ComponentKind {
  const kind = KIND_NAMES[name];
  if (!kind)
    throw new UserError(`unknown component kind "${name}"`, `choose one of: ${Object.keys(KIND_NAMES).join(', ')}`);
  return kind;
}
