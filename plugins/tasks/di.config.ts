import { registrations } from '../../core/di/container.js';
import { TASKS } from '../../core/tasks/index.js';

export default registrations('Task', TASKS);
