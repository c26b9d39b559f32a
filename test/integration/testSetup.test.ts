import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, tempDir } from '../helpers.js';

// scripts/testSetup.sh (the first thing `npm test` runs) decides what to install from dpkg,
// PATH and the user id. Here it runs on a PATH of stand-ins: `id` says which user, `dpkg-query`
// which packages are installed, and `apt-get` and `npm` only record how they were called.

const BASH = ['/bin/bash', '/usr/bin/bash'].find((p) => existsSync(p))!;
const DIRNAME = ['/usr/bin/dirname', '/bin/dirname'].find((p) => existsSync(p))!;
const EVERY_PACKAGE = ['prometheus', 'openssh-server', 'openssh-client', 'iproute2', 'curl', 'libopenblas-dev', 'g++', 'make', 'python3-torch', 'libopenblas0-pthread'];
/** Mesa's lavapipe, which scripts/setupWebgpu.sh checks by version (>= 24). */
const MESA = 'mesa-vulkan-drivers';

interface Machine {
  uid: number;
  /** What dpkg says is installed (mesa-vulkan-drivers at 25.0.7, unless mesa22). */
  installed: string[];
  /** dpkg reports bookworm's own Mesa, 22.3, which Dawn refuses. */
  mesa22?: boolean;
  /** Commands on PATH besides the stand-ins (each exits 0). */
  commands?: string[];
  /** package.json defines build:native. */
  buildNative: boolean;
  /** native/build/Release/trainer_native.node exists. */
  addonBuilt: boolean;
}

function runSetup(m: Machine): { code: number | null; stderr: string; calls: string[] } {
  const dir = tempDir('setup');
  try {
    const bin = path.join(dir, 'bin');
    const repo = path.join(dir, 'repo');
    const log = path.join(dir, 'calls.log');
    mkdirSync(bin);
    mkdirSync(path.join(repo, 'scripts'), { recursive: true });
    for (const f of ['testSetup.sh', 'setupWebgpu.sh']) copyFileSync(path.join(ROOT, 'scripts', f), path.join(repo, 'scripts', f));
    writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'x', type: 'module', scripts: m.buildNative ? { test: 'x', 'build:native': 'x' } : { test: 'x' } }));
    if (m.addonBuilt) {
      mkdirSync(path.join(repo, 'native/build/Release'), { recursive: true });
      writeFileSync(path.join(repo, 'native/build/Release/trainer_native.node'), '');
    }
    const script = (name: string, body: string): void => {
      writeFileSync(path.join(bin, name), `#!${BASH}\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    script('id', `echo ${m.uid}`);
    // dpkg-query -W -f='${Status}' PACKAGE, or -f='${Status} ${Version}\n' (setupWebgpu.sh, for Mesa's version)
    const version = m.mesa22 ? '22.3.6-1+deb12u1' : '25.0.7-2~bpo12+1';
    script('dpkg-query', `for p in ${m.installed.map((p) => `'${p}'`).join(' ')}; do [ "$p" = "\${@: -1}" ] || continue; `
      + `case "$2" in *Version*) printf 'install ok installed ${version}\\n' ;; *) printf 'install ok installed' ;; esac; exit 0; done; exit 1`);
    for (const c of ['awk', 'grep', 'cat']) {
      const real = ['/usr/bin/', '/bin/'].map((d) => d + c).find((p) => existsSync(p));
      if (real) symlinkSync(real, path.join(bin, c));
    }
    script('apt-get', `echo "apt-get $*" >> '${log}'`);
    script('npm', `echo "npm $*" >> '${log}'`);
    for (const c of m.commands ?? []) script(c, 'exit 0');
    symlinkSync(process.execPath, path.join(bin, 'node'));
    symlinkSync(DIRNAME, path.join(bin, 'dirname'));
    const r = spawnSync(BASH, [path.join(repo, 'scripts/testSetup.sh')], { encoding: 'utf8', env: { PATH: bin }, timeout: 30_000 });
    return { code: r.status, stderr: r.stderr, calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const apt = (line: string): string[] => line.replace(/^apt-get install /, '').split(' ').filter((w) => !w.startsWith('-'));

test('as another user with packages missing, testSetup prints the one apt-get line that installs them, installs nothing and fails', () => {
  const r = runSetup({ uid: 1000, installed: ['openssh-server', 'openssh-client', 'iproute2', 'make', 'python3-torch', 'libopenblas0-pthread', MESA], commands: ['curl', 'prometheus'], buildNative: true, addonBuilt: false });
  assert.notEqual(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => /apt-get install/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^apt-get install -y /);
  // curl is on PATH; prometheus is too, but not promtool, which the tests also need.
  assert.deepEqual(apt(lines[0]!), ['prometheus', 'libopenblas-dev', 'g++']);
  assert.deepEqual(r.calls, [], 'neither apt-get nor npm ran');
});

test('as root, testSetup updates the package lists once, installs exactly what is missing, then builds the native addon', () => {
  const r = runSetup({ uid: 0, installed: ['prometheus', 'openssh-server', 'openssh-client', 'make', 'curl', 'python3-torch', 'libopenblas0-pthread', MESA], buildNative: true, addonBuilt: false });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.calls.length, 3, r.calls.join('\n'));
  assert.match(r.calls[0]!, /^apt-get update\b/);
  assert.match(r.calls[1]!, /^apt-get install -y .*--no-install-recommends/);
  assert.deepEqual(r.calls[1]!.split(' ').slice(2).filter((w) => !w.startsWith('-') && !w.includes('=')), ['iproute2', 'libopenblas-dev', 'g++']);
  assert.equal(r.calls[2], 'npm run --silent build:native');
});

test('with everything installed, testSetup runs no apt-get, and builds the addon only when it is defined and missing', () => {
  const all = { installed: [...EVERY_PACKAGE, MESA], buildNative: true, addonBuilt: true };
  for (const uid of [0, 1000]) {
    const r = runSetup({ uid, ...all });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, [], `uid ${uid}: nothing to do`);
  }
  assert.deepEqual(runSetup({ uid: 1000, ...all, addonBuilt: false }).calls, ['npm run --silent build:native']);
  assert.deepEqual(runSetup({ uid: 1000, ...all, buildNative: false, addonBuilt: false }).calls, [], 'no build:native script, nothing to build');
});

test('as another user with only Mesa 22 (which Dawn refuses), testSetup prints how to install Mesa >= 24 lavapipe and fails', () => {
  const r = runSetup({ uid: 1000, installed: [...EVERY_PACKAGE, MESA], mesa22: true, buildNative: true, addonBuilt: true });
  assert.notEqual(r.code, 0, r.stderr);
  assert.match(r.stderr, /Mesa >= 24 lavapipe \(found: 22\)/);
  assert.match(r.stderr, /apt-get install -y (-t bookworm-backports )?mesa-vulkan-drivers libvulkan1/);
  assert.deepEqual(r.calls, [], 'nothing installed');
});

test('npm test and CI run testSetup: .ci/run is the README\'s `npm ci && npm test`', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.test!, /^bash scripts\/testSetup\.sh && /);
  const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  assert.deepEqual(ci.filter((l) => !/^(set -euo pipefail|cd .*)$/.test(l)), ['npm ci && npm test']);
});
