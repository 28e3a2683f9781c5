import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { KIND_NAMES, type ComponentKind } from '../../tokens.js';
import { UserError } from '../../errors.js';
import { describeOrigin } from '../../di/registry.js';

export function registerList(program: Command, context: CliContext): void {
  program
    .command('list')
    .description(`show registered components: ${Object.keys(KIND_NAMES).join('|')} (all when omitted)`)
    .argument('[kind]', 'which kind of component')
    .option('--origin', 'show which module registered each component')
    .action(async (kindName: string | undefined, options: { origin?: boolean }) => {
      const kinds: [string, ComponentKind][] = kindName ? [[kindName, kindOf(kindName)]] : Object.entries(KIND_NAMES);
      const app = await context.simkit();
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

function kindOf(name: string): ComponentKind {
  const kind = KIND_NAMES[name];
  if (!kind)
    throw new UserError(`unknown component kind "${name}"`, `choose one of: ${Object.keys(KIND_NAMES).join(', ')}`);
  return kind;
}
