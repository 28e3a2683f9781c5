// Child process of checkpoint.test.ts: trains the tiny problem with checkpoints until it is killed.
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { trainTiny } from './tiny-problem.js';

const [runDir, count, epochs] = process.argv.slice(2);
await initEngine('native');
await trainTiny(await Simkit.create(), Number(count), { epochs: Number(epochs), runDir, resume: true });
