// Runs the CLI from source in a child process, so tests see real exit codes, stdout and stderr.
import { runAsProcess } from '../../../core/cli/main.js';

await runAsProcess(process.argv.slice(2));
