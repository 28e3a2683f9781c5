#!/usr/bin/env node
// Builds faiss-node's native addon without the network: its own install script downloads a
// prebuilt binary or clones faiss from GitHub, so package.json disables it and this script
// compiles the addon against Debian's libfaiss-dev instead, after applying
// native/faiss-node-typed-arrays.patch (Float32Array in and typed arrays out; see that file).
// An upstream prebuilt binary would lack the patch, so there is no fallback to one.
// Usage: build-faiss.mjs [--force]   (without --force, a present and patched addon is kept)
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const faissDir = dirname(require.resolve('faiss-node/package.json'));
const addon = join(faissDir, 'build', 'Release', 'faiss-node.node');
const source = join(faissDir, 'src', 'faiss.cc');
const pristine = `${source}.orig`;
const patchFile = join(root, 'native', 'faiss-node-typed-arrays.patch');
const systemFaiss = '/usr/include/faiss/Index.h';
const force = process.argv.includes('--force');
const SYSTEM_FIX = 'as root, apt-get install libfaiss-dev libopenblas-dev cmake g++ patchelf (or `make system`)';

function fail(message) {
  console.error(`faiss-node: ${message}`);
  process.exit(1);
}

function run(cmd, args, cwd) {
  execFileSync(cmd, args, { cwd, stdio: 'inherit', env: process.env });
}

/**
 * Applies a unified diff to `text`. Hunks are applied in order, each where its context and
 * removed lines next occur as whole lines; line numbers are not trusted. Throws on a mismatch.
 */
function applyUnifiedDiff(text, diff) {
  const lines = diff.replace(/\n$/, '').split('\n');
  const start = lines.findIndex((line) => line.startsWith('@@ '));
  if (start < 0) throw new Error('no hunks');
  const hunks = [];
  for (const line of lines.slice(start)) {
    if (line.startsWith('@@ ')) hunks.push({ header: line, old: [], new: [] });
    else if (line.startsWith('-')) hunks.at(-1).old.push(line.slice(1));
    else if (line.startsWith('+')) hunks.at(-1).new.push(line.slice(1));
    // A blank context line may have lost its leading space to an editor.
    else if (line.startsWith(' ') || line === '') {
      hunks.at(-1).old.push(line.slice(1));
      hunks.at(-1).new.push(line.slice(1));
    } else if (!line.startsWith('\\')) throw new Error(`unexpected line in a hunk: ${line}`);
  }
  let out = '';
  let rest = text;
  for (const hunk of hunks) {
    const before = `${hunk.old.join('\n')}\n`;
    let at = rest.indexOf(before);
    while (at > 0 && rest[at - 1] !== '\n') at = rest.indexOf(before, at + 1);
    if (at < 0) throw new Error(`hunk ${hunk.header} does not match`);
    out += rest.slice(0, at) + `${hunk.new.join('\n')}\n`;
    rest = rest.slice(at + before.length);
  }
  return out + rest;
}

/**
 * Whether `addon` loads and takes the patched typed-array path (checked in a child process: a loaded addon cannot be
 * reloaded).
 */
function patchedAddonWorks() {
  const probe = `
    const { IndexFlatIP, simkitTypedArrays } = require(${JSON.stringify(addon)});
    const index = new IndexFlatIP(2);
    index.add(new Float32Array([1, 0, 0, 1]));
    const { labels, distances } = index.search(new Float32Array([0, 1]), 1);
    const ok = simkitTypedArrays === true && distances instanceof Float32Array && labels instanceof BigInt64Array && labels[0] === 1n;
    process.stdout.write(ok ? 'patched' : 'unpatched');`;
  try {
    return (
      execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) ===
      'patched'
    );
  } catch {
    return false;
  }
}

if (!force && existsSync(addon)) {
  if (patchedAddonWorks()) {
    console.log(`faiss-node: patched native addon present (${addon})`);
    process.exit(0);
  }
  console.log('faiss-node: the present addon does not load or lacks the typed-array patch; rebuilding');
}

if (!existsSync(systemFaiss)) {
  fail(
    `${systemFaiss} not found: simkit builds faiss-node against Debian's libfaiss-dev.\nFix: ${SYSTEM_FIX}; then make setup`,
  );
}

// Patch upstream's source as installed (kept as faiss.cc.orig), so rebuilding is repeatable.
if (!existsSync(pristine)) copyFileSync(source, pristine);
try {
  writeFileSync(source, applyUnifiedDiff(readFileSync(pristine, 'utf8'), readFileSync(patchFile, 'utf8')));
} catch (error) {
  fail(
    `${patchFile} does not apply to ${pristine} (${error.message}).\n` +
      'Fix: faiss-node must be the version the patch was written for (package.json pins 0.5.1); reinstall it with npm ci, then make setup',
  );
}

const shim = join(faissDir, 'deps', 'faiss');
rmSync(shim, { recursive: true, force: true });
mkdirSync(shim, { recursive: true });
cpSync(join(root, 'native', 'faiss-shim'), shim, { recursive: true });
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
console.log(
  'faiss-node: building against the system libfaiss (libfaiss-dev), with native/faiss-node-typed-arrays.patch',
);
run(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], faissDir);

if (!existsSync(addon)) fail(`build finished but ${addon} is missing.\nFix: ${SYSTEM_FIX}; then make setup`);
if (!patchedAddonWorks()) {
  fail(
    `${addon} was built but does not take Float32Array input (the typed-array patch is not in effect).\n` +
      `Fix: check ${source} against ${patchFile}, then node scripts/build-faiss.mjs --force`,
  );
}
console.log(`faiss-node: built ${addon}`);
