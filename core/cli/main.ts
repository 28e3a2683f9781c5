import 'reflect-metadata';
import { Command, CommanderError, Option } from 'commander';
import { BACKENDS, engineThreads } from '../engine/backend.js';
import { isUserError } from '../errors.js';
import { configureLogging, isVerbose } from '../log.js';
import { COMMANDS } from './commands/index.js';
import { CliContext } from './context.js';

export function buildProgram(context = new CliContext()): Command {
  const program = new Command('simkit')
    .description('metric learning for Kaggle competitions: train, embed, search, submit, score')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (also SIMKIT_BACKEND)').choices(BACKENDS))
    .option('--threads <n>', 'threads of the native engine (also SIMKIT_THREADS; default: every core)')
    .option('--verbose', 'more detail, and stack traces on errors')
    .option('--quiet', 'only warnings and errors on stderr')
    .showHelpAfterError('(run `simkit --help` for usage)')
    .exitOverride()
    .hook('preAction', (command) => {
      const options = command.optsWithGlobals() as { backend?: string; threads?: string; verbose?: boolean; quiet?: boolean };
      configureLogging({ verbose: options.verbose, quiet: options.quiet });
      if (options.backend) process.env.SIMKIT_BACKEND = options.backend;
      if (options.threads !== undefined) process.env.SIMKIT_THREADS = String(engineThreads(options.threads));
    });
  for (const register of COMMANDS) register(program, context);
  return program;
}

/** Runs the CLI and returns the process exit code (0 ok, 1 invalid input, 2 usage or setup). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (isUserError(error)) {
      process.stderr.write(`simkit: ${error.message}\n`);
      if (error.hint) process.stderr.write(`  fix: ${error.hint}\n`);
      if (isVerbose() && error.stack) process.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    process.stderr.write(`simkit: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return 3;
  }
}
