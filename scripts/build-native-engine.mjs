#!/usr/bin/env node
// Builds simkit's native engine addon (native/engine: oneDNN kernels for TensorFlow.js) offline
// with cmake-js, against Debian's libdnnl-dev and the Node-API headers npm installed. Then checks,
// in a child process, that the addon loads and reports its oneDNN version.
// Usage: build-native-engine.mjs [--force]   (without --force, a present addon that loads is kept)
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const sourceDir = join(root, 'native', 'engine');
const addon = join(sourceDir, 'build', 'Release', 'simkit_engine.node');
const header = '/usr/include/oneapi/dnnl/dnnl.hpp';
const SYSTEM_FIX = 'as root, apt-get install libdnnl-dev cmake g++ (or `make system`)';

function fail(message) {
  console.error(`native engine: ${message}`);
  process.exit(1);
}

function probe() {
  try {
    return execFileSync(
      process.execPath,
      [
        '-e',
        `const info = require(${JSON.stringify(addon)}).info(); process.stdout.write(\`oneDNN \${info.onednn}, \${info.isa}\`)`,
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch {
    return undefined;
  }
}

if (!process.argv.includes('--force') && existsSync(addon) && probe()) {
  console.log(`native engine: addon present (${addon})`);
  process.exit(0);
}
if (!existsSync(header))
  fail(`${header} not found: the native engine builds against Debian's oneDNN.\nFix: ${SYSTEM_FIX}; then make build`);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
console.log('native engine: building native/engine against the system oneDNN (libdnnl-dev)');
execFileSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], { cwd: sourceDir, stdio: 'inherit' });
const loaded = existsSync(addon) ? probe() : undefined;
if (!loaded)
  fail(
    `build finished but ${addon} does not load.\nFix: ${SYSTEM_FIX}; then node scripts/build-native-engine.mjs --force`,
  );
console.log(`native engine: built ${addon} (${loaded})`);
