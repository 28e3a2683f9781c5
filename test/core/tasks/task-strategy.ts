import type { TaskKind } from '../../../core/contracts/competition.js';
import type { TaskStrategy } from '../../../core/contracts/task.js';
import { Registry } from '../../../core/di/registry.js';
import { TASKS } from '../../../core/tasks/index.js';

const BUILT_IN = new Registry<TaskStrategy>('task', TASKS);

/** A built-in task strategy by kind, as the container's registry creates it (plugins/tasks registers them). */
export function taskStrategy(kind: TaskKind): TaskStrategy {
  return BUILT_IN.create(kind);
}
