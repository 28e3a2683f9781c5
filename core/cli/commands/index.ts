import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerKnn } from './knn.js';
import { registerList } from './list.js';
import { registerNew } from './new.js';
import { registerRun } from './run.js';
import { registerScore } from './score.js';
import { registerLeaderboard } from './leaderboard.js';
import { registerDoctor } from './doctor.js';
import { registerReport } from './report.js';
import { registerTrain } from './train.js';
import { registerEvaluate } from './evaluate.js';

/** Every subcommand; each file adds its commands to the program. */
export const COMMANDS: ((program: Command, context: CliContext) => void)[] = [
  registerList,
  registerRun,
  registerTrain,
  registerNew,
  registerKnn,
  registerScore,
  registerLeaderboard,
  registerDoctor,
  registerReport,
  registerEvaluate,
];
