import type { Registration } from '../contracts/registration.js';
import type { TaskStrategy } from '../contracts/task.js';
import { classifyTask, multilabelTask, recognizeTask } from './labels.js';
import { matchTask } from './match.js';
import { retrieveTask } from './retrieve.js';

/** A task strategy as the container registers it (TOKENS.Task), under its kind's name; it has no options. */
export function taskRegistration(strategy: TaskStrategy, description: string): Registration<TaskStrategy> {
  return { name: strategy.kind, description, defaults: {}, create: () => strategy };
}

/** The built-in task strategies (plugins/tasks registers them); a competition names one by its `task`. */
export const TASKS: readonly Registration<TaskStrategy>[] = [
  taskRegistration(classifyTask, 'ranked class ids per query (Hotel-ID, Herbarium, whales)'),
  taskRegistration(recognizeTask, 'one class and a confidence, or nothing (landmark recognition)'),
  taskRegistration(multilabelTask, 'a set of class ids per query (Protein Atlas)'),
  taskRegistration(matchTask, 'the test items that show the same thing as each query, itself included (Shopee)'),
  taskRegistration(retrieveTask, 'the index items that show the same thing as each query, ranked (landmark retrieval)'),
];
