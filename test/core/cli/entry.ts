// Runs the CLI from source in a child process, so tests see real exit codes, stdout and stderr.
import { main } from '../../../core/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
