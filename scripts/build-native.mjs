#!/usr/bin/env node
/**
 * Builds the native kernels (native/, node-gyp, OpenBLAS). Plain JS: it runs at
 * `npm ci` time, before dist/ exists.
 *   node scripts/build-native.mjs            build; exit 1 on failure (npm run build:native)
 *   node scripts/build-native.mjs --optional build if possible; on failure one line, exit 0 (npm's install step)
 *   node scripts/build-native.mjs --check    print {"buildable": bool, "missing": [...]}: can this host build it?
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE = path.join(ROOT, 'native');
const ADDON = path.join(NATIVE, 'build', 'Release', 'trainer_native.node');
const HINT = 'apt-get install g++ make libopenblas-dev, then npm run build:native';

const onPath = (cmd) => (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, cmd)));

/** What the build needs that this host lacks, by Debian package name. */
function missing() {
  const out = [];
  if (!onPath('g++') && !onPath('cc')) out.push('g++');
  if (!onPath('make')) out.push('make');
  const cblas = ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/openblas/cblas.h'];
  const openblas = ['/usr/lib/x86_64-linux-gnu/libopenblas.so', '/usr/lib/aarch64-linux-gnu/libopenblas.so', '/usr/lib/libopenblas.so', '/usr/lib64/libopenblas.so'];
  if (!cblas.some(existsSync) || !openblas.some(existsSync)) out.push('libopenblas-dev');
  return out;
}

/** npm's own node-gyp (npm sets npm_config_node_gyp for scripts), else the one bundled next to this node. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp, path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  return candidates.find((p) => p && existsSync(p));
}

function build() {
  const lacking = missing();
  if (lacking.length > 0) return `missing ${lacking.join(', ')}`;
  const gyp = nodeGyp();
  if (!gyp) return 'node-gyp not found (it comes with npm)';
  const args = [gyp, 'rebuild'];
  // Offline: Node's own headers (Debian's nodejs puts them in /usr/include/node) instead of a download.
  const prefix = path.join(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${prefix}`);
  const r = spawnSync(process.execPath, args, { cwd: NATIVE, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(ADDON)) {
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => !l.startsWith('gyp info')).join('\n'));
    return `node-gyp failed (exit ${r.status})`;
  }
  return undefined;
}

const mode = process.argv[2];
if (mode === '--check') {
  const lacking = missing();
  process.stdout.write(`${JSON.stringify({ buildable: lacking.length === 0, missing: lacking, addon: ADDON, built: existsSync(ADDON) })}\n`);
} else {
  const failure = build();
  if (failure === undefined) {
    process.stdout.write(`trainer: native kernels built (${path.relative(ROOT, ADDON)}): --backend native, and auto on CPU hosts\n`);
  } else {
    process.stdout.write(`trainer: native kernels not built (${failure}); workers use the slower wasm backend. To build them: ${HINT}\n`);
    process.exit(mode === '--optional' ? 0 : 1);
  }
}
