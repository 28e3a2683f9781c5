import { Simkit } from '../di/container.js';

/** Shared, lazily built state for CLI commands: the container is built once per process. */
export class CliContext {
  private app?: Promise<Simkit>;

  simkit(): Promise<Simkit> {
    this.app ??= Simkit.create();
    return this.app;
  }
}
