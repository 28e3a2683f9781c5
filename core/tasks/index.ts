import type { TaskKind } from '../contracts/competition.js';
import type { TaskStrategy } from '../contracts/task.js';
import { classifyTask, multilabelTask, recognizeTask } from './labels.js';
import { matchTask } from './match.js';
import { retrieveTask } from './retrieve.js';

const STRATEGIES: Readonly<Record<TaskKind, TaskStrategy>> = {
  classify: classifyTask,
  recognize: recognizeTask,
  multilabel: multilabelTask,
  match: matchTask,
  retrieve: retrieveTask,
};

/** The strategy of a task kind: everything of a run that depends on what the task asks for. */
export function taskStrategy(kind: TaskKind): TaskStrategy {
  return STRATEGIES[kind];
}
