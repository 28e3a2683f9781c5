import 'reflect-metadata';
import { Command, CommanderError, Option } from 'commander';
import { BACKENDS, engineThreads } from '../engine/backend.js';
import { PRECISIONS } from '../engine/native/precision.js';
import { isUserError } from '../errors.js';
import { fileSystemError } from '../io/atomic-write.js';
import { releaseOutFolders } from '../io/out-lock.js';
import { guardOutputStreams, takeStreamFailure } from '../io/streams.js';
import { configureLogging, isVerbose } from '../log.js';
import { COMMANDS } from './commands/index.js';
import { CliContext } from './context.js';
import { commandLineHint } from './hints.js';
import { limitHeapGrowth } from '../heap.js';

export function buildProgram(context = new CliContext()): Command {
  const program = new Command('simkit')
    .description('metric learning for Kaggle competitions: train, embed, search, submit, score')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (also SIMKIT_BACKEND)').choices(BACKENDS))
    .addOption(
      new Option(
        '--precision <name>',
        'bf16: bf16 convolutions and matmuls with f32 weights and loss, native backend on a CPU with AVX512-BF16 or AMX (also SIMKIT_PRECISION; default f32)',
      ).choices(PRECISIONS),
    )
    .option('--threads <n>', 'threads of the native engine (also SIMKIT_THREADS; default: every core)')
    .option('--verbose', 'more detail, and stack traces on errors')
    .option('--quiet', 'only warnings and errors on stderr')
    .option(
      '--no-plugins',
      'load no external plugins (simkit.config.json, node_modules/simkit-plugin-*, SIMKIT_PLUGINS); also SIMKIT_NO_PLUGINS=1',
    )
    .showHelpAfterError('(run `simkit --help` for usage)')
    .exitOverride()
    .hook('preAction', (command) => {
      const options = command.optsWithGlobals<{
        backend?: string;
        threads?: string;
        precision?: string;
        verbose?: boolean;
        quiet?: boolean;
        plugins?: boolean;
      }>();
      configureLogging({ verbose: options.verbose, quiet: options.quiet });
      context.noPlugins = options.plugins === false;
      if (options.backend) process.env.SIMKIT_BACKEND = options.backend;
      if (options.precision) process.env.SIMKIT_PRECISION = options.precision;
      if (options.threads !== undefined) process.env.SIMKIT_THREADS = String(engineThreads(options.threads));
    });
  for (const register of COMMANDS) register(program, context);
  return program;
}

/** Runs the CLI and returns the process exit code (0 ok, 1 invalid input, 2 usage or setup, 3 a bug). */
export async function main(argv: string[]): Promise<number> {
  guardOutputStreams();
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return await reportStreamFailure(0);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    // A file-system error that names its path (a folder where a file goes, a name too long) is the
    // user's to fix, wherever it was raised.
    const path = (error as NodeJS.ErrnoException)?.path;
    const userError = isUserError(error) ? error : path === undefined ? undefined : fileSystemError(path, error, 'use');
    if (isUserError(userError)) {
      process.stderr.write(`simkit: ${userError.message}\n`);
      const hint = commandLineHint(userError);
      if (hint) process.stderr.write(`  fix: ${hint}\n`);
      if (isVerbose() && (error as Error).stack) process.stderr.write(`${(error as Error).stack}\n`);
      return await reportStreamFailure(userError.exitCode);
    }
    process.stderr.write(
      `simkit: internal error (a bug: please report it with this output): ${(error as Error)?.stack ?? String(error)}\n`,
    );
    return 3;
  } finally {
    releaseOutFolders();
  }
}

/** A command whose stdout or stderr could not be written (other than a closed pipe) ends with exit 2 naming it. */
async function reportStreamFailure(code: number): Promise<number> {
  // A stream reports a failed write on a later tick.
  await new Promise((resolve) => setImmediate(resolve));
  const failure = takeStreamFailure();
  if (!failure) return code;
  process.stderr.write(`simkit: ${failure.message}\n`);
  return code === 0 ? failure.exitCode : code;
}

/** How long a finished command waits for open handles (decoder threads after a failure) before it exits anyway. */
const EXIT_GRACE_MS = 2000;

/** Runs the CLI as the process: its exit code, and an exit even when something left a handle open. */
export async function runAsProcess(argv: string[]): Promise<void> {
  limitHeapGrowth();
  process.exitCode = await main(argv);
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}
