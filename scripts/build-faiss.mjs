#!/usr/bin/env node
// Builds faiss-node's native addon without the network: its own install script downloads a
// prebuilt binary or clones faiss from GitHub, so package.json disables it and this script
// compiles the addon against Debian's libfaiss-dev instead. Where libfaiss-dev is absent and
// the machine is online, it falls back to faiss-node's upstream prebuilt binary.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const faissDir = dirname(require.resolve('faiss-node/package.json'));
const addon = join(faissDir, 'build', 'Release', 'faiss-node.node');
const systemFaiss = '/usr/include/faiss/Index.h';
const force = process.argv.includes('--force');

function run(cmd, args, cwd) {
  execFileSync(cmd, args, { cwd, stdio: 'inherit', env: process.env });
}

if (existsSync(addon) && !force) {
  console.log(`faiss-node: native addon present (${addon})`);
  process.exit(0);
}

if (existsSync(systemFaiss)) {
  const shim = join(faissDir, 'deps', 'faiss');
  rmSync(shim, { recursive: true, force: true });
  mkdirSync(shim, { recursive: true });
  cpSync(join(root, 'native', 'faiss-shim'), shim, { recursive: true });
  const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  console.log('faiss-node: building against the system libfaiss (libfaiss-dev)');
  run(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], faissDir);
} else {
  console.log('faiss-node: libfaiss-dev not found; trying the upstream prebuilt binary (needs internet)');
  const prebuild = join(dirname(require.resolve('prebuild-install/package.json', { paths: [faissDir] })), 'bin.js');
  run(process.execPath, [prebuild, '--runtime', 'napi'], faissDir);
}

if (!existsSync(addon)) {
  console.error(`faiss-node: build finished but ${addon} is missing.\n` +
    'Fix: as root, apt-get install libfaiss-dev libopenblas-dev cmake g++ patchelf; then make setup');
  process.exit(1);
}
console.log(`faiss-node: built ${addon}`);
