#!/usr/bin/env node
import { runAsProcess } from '../dist/core/cli/main.js';

await runAsProcess(process.argv.slice(2));
