import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { decodePng } from '../../src/shared/png.js';
import { directoryLoadHandler } from '../../src/shared/gan/modelFiles.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { tf } from '../../src/shared/gan/tf.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { Summary } from '../../src/coordinator/summary.js';
import { jsonLines, runCli, startCli, tempDir, testPort } from '../helpers.js';
import { GanReplica } from '../../src/shared/gan/replica.js';
import { trainConfig } from '../fixtures/trainConfig.js';

/** A coordinator and N worker processes over TCP loopback (not --spawn: separate commands, as on separate hosts). */
async function distributedRun(workers: number, extra: string[], workerExtra: string[] = []): Promise<{ out: string; code: number | null; log: string; workerLogs: string[] }> {
  const out = tempDir('run');
  const port = testPort();
  const coordinator = startCli(['coordinator', '--workers', String(workers), '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json', '--timeout', '30', '--register-timeout', '60', ...extra]);
  const ws = Array.from({ length: workers }, () => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--log-format', 'json', ...workerExtra]));
  const timer = setTimeout(() => { coordinator.child.kill('SIGKILL'); for (const w of ws) w.child.kill('SIGKILL'); }, 150_000);
  const code = await coordinator.exited;
  const workerCodes = await Promise.all(ws.map((w) => w.exited));
  clearTimeout(timer);
  assert.deepEqual(workerCodes, ws.map(() => 0), `workers exit 0:\n${ws.map((w) => w.output().slice(-1500)).join('\n')}`);
  return { out, code, log: coordinator.output(), workerLogs: ws.map((w) => w.output()) };
}

test('coordinator and 2 worker processes train 20 steps over TCP loopback', async () => {
  // Both workers on this host would all-reduce through shared memory (sharedMemory.test.ts): here auto probes the links.
  const { out, code, log, workerLogs } = await distributedRun(2, ['--steps', '20', '--limit', '512', '--batch-size', '16', '--check-every', '5', '--log-every', '5'], ['--verbose', '--fault-no-shm']);
  assert.equal(code, 0, log.slice(-3000));
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
  for (const key of ['steps', 'workers', 'globalBatchSize', 'backend', 'allreduce', 'final', 'replicaHash', 'imagesPerSecond', 'wallSeconds'] as const) {
    assert.ok(summary[key] !== undefined, `summary.json has ${key}`);
  }
  assert.equal(summary.steps, 20);
  assert.equal(summary.workers, 2);
  assert.equal(summary.globalBatchSize, 32);
  // The default: auto measured the link and chose an algorithm per phase; summary.json says which.
  assert.equal(summary.allreduce, 'auto');
  assert.ok(summary.allreduceChoice && ['ring', 'rhd'].includes(summary.allreduceChoice.d) && ['ring', 'rhd'].includes(summary.allreduceChoice.g), JSON.stringify(summary.allreduceChoice));
  assert.ok(summary.allreduceChoice.alphaS > 0 && summary.allreduceChoice.betaBytesPerS > 0);
  assert.match(summary.replicaHash, /^[0-9a-f]{64}$/);
  assert.ok(Number.isFinite(summary.final.dLoss) && Number.isFinite(summary.final.gLoss));
  assert.ok(summary.imagesPerSecond > 0 && summary.wallSeconds > 0);
  // Every worker reported the same final hash as the summary's.
  const finals = workerLogs.flatMap((w) => jsonLines(w).filter((l) => l.msg === 'training finished').map((l) => l.hash));
  assert.deepEqual(finals, [summary.replicaHash, summary.replicaHash]);
  // Progress records went out during training: the first step, then every --log-every steps.
  assert.deepEqual(jsonLines(log).filter((l) => l.msg === 'step').map((l) => l.step), [1, 5, 10, 15, 20]);
  // Both workers registered this host: the ring runs over Unix sockets, and the coordinator says so.
  assert.deepEqual(jsonLines(log).filter((l) => /ring links/.test(String(l.msg))).map((l) => l.links), [['ipc', 'ipc']]);
  assert.deepEqual(decodePng(readFileSync(path.join(out, 'samples', 'final.png'))), { width: 484, height: 484 });
  // The saved generator loads back as a TensorFlow.js model of the right shape.
  await selectBackend('cpu', silentLogger);
  const g = await tf.loadLayersModel(directoryLoadHandler(tf, path.join(out, 'generator')));
  assert.deepEqual(g.outputs[0]!.shape, [null, 784]);
  g.dispose();
});

test('star, halving-doubling and auto train to the same replicas as the ring, bit for bit with 2 workers', async () => {
  const flags = ['--steps', '6', '--limit', '256', '--batch-size', '8', '--check-every', '2'];
  const runs = [];
  for (const allreduce of ['star', 'ring', 'rhd', 'auto']) {
    // auto over the links, as on two hosts (on one, it chooses shared memory: sharedMemory.test.ts).
    const { out, code, log } = await distributedRun(2, [...flags, '--allreduce', allreduce], allreduce === 'auto' ? ['--fault-no-shm'] : []);
    assert.equal(code, 0, log.slice(-3000));
    runs.push(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary);
  }
  const [star, ring, rhd, auto] = runs as [Summary, Summary, Summary, Summary];
  assert.equal(star.allreduce, 'star');
  assert.equal(ring.allreduce, 'ring');
  // Both average as fround(fround(g0 + g1) * 0.5): the hub in rank order, the ring's chunk owner as own + predecessor's.
  // Float addition is commutative, so with two workers every average has the same bits, and so do six steps of
  // training from the same seed on the same batches. (With three or more, the two sum in different orders and
  // would agree only to rounding.)
  assert.equal(star.replicaHash, ring.replicaHash, 'star and ring end with the same replica');
  assert.deepEqual(star.final, ring.final);
  // Halving-doubling over two ranks adds the same two numbers once, as the ring does; auto runs one of them after its probe.
  for (const other of [rhd, auto]) {
    assert.equal(other.replicaHash, ring.replicaHash, `${other.allreduce} ends with the ring's replica`);
    assert.deepEqual(other.final, ring.final);
  }
  assert.equal(rhd.allreduce, 'rhd');
  assert.ok(auto.allreduceChoice, 'auto reports its choice');
});

test('--data local: each worker reads its own slices, the coordinator ships no batch, and 20 steps end at the replica of --data coordinator', async () => {
  const flags = ['--steps', '20', '--limit', '512', '--batch-size', '16', '--check-every', '5', '--allreduce', 'ring'];
  const runs = [];
  for (const data of ['coordinator', 'local']) {
    const { out, code, log, workerLogs } = await distributedRun(2, [...flags, '--data', data]);
    assert.equal(code, 0, log.slice(-3000));
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    const finals = workerLogs.flatMap((w) => jsonLines(w).filter((l) => l.msg === 'training finished').map((l) => l.hash));
    assert.deepEqual(finals, [summary.replicaHash, summary.replicaHash], `${data}: both workers end at the summary's replica`);
    runs.push(summary);
  }
  const [shipped, local] = runs as [Summary, Summary];
  assert.equal(shipped.data, 'coordinator');
  assert.equal(local.data, 'local');
  // 20 steps × 2 workers, each a slice of 16 images of 784 bytes.
  assert.deepEqual(shipped.shipped, { batches: 40, bytes: 40 * 16 * 784 });
  assert.deepEqual(local.shipped, { batches: 0, bytes: 0 });
  assert.match(local.replicaHash, /^[0-9a-f]{64}$/);
  assert.equal(local.replicaHash, shipped.replicaHash, 'the same trajectory, bit for bit');
  assert.deepEqual(local.final, shipped.final);
});

test('16-bit gradients on the wire, fp16 through the ring and bf16 through the star: replicas stay identical (hash-checked every 2 steps), half the bytes go out, the mode is in summary.json', async () => {
  const flags = ['--steps', '6', '--limit', '256', '--batch-size', '8', '--check-every', '2'];
  await selectBackend('cpu', silentLogger);
  const sizes = new GanReplica(tf, trainConfig({ arch: 'mlp' })).reduceSizes;
  for (const [allreduce, compression] of [['ring', 'fp16'], ['star', 'bf16']] as const) {
    const { out, code, log, workerLogs } = await distributedRun(2, [...flags, '--allreduce', allreduce, '--compression', compression]);
    assert.equal(code, 0, log.slice(-3000));
    assert.ok(!/mismatch/i.test(log));
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    assert.equal(summary.compression, compression);
    const finished = workerLogs.flatMap((w) => jsonLines(w).filter((l) => l.msg === 'training finished'));
    assert.deepEqual(finished.map((l) => l.hash), [summary.replicaHash, summary.replicaHash]);
    // Two workers send one buffer's worth per phase (ring: half in each direction twice; star: all of it once): 2 bytes a value, plus headers.
    for (const l of finished) {
      const sent = (l.timing as { medianSentBytes: number }).medianSentBytes;
      assert.ok(sent >= 2 * (sizes.d + sizes.g) && sent < 2.1 * (sizes.d + sizes.g), `${allreduce} ${compression}: ${sent} bytes sent per step for ${sizes.d + sizes.g} values`);
    }
  }
});

test('--spawn launches local workers and --epochs sets the step count', async () => {
  const out = tempDir('spawn');
  const r = await runCli(['coordinator', '--workers', '2', '--spawn', '--epochs', '1', '--limit', '96', '--batch-size', '16', '--port', '0', '--out', out, '--log-format', 'json']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
  assert.equal(summary.steps, 3);
  assert.equal(summary.epochs, 1);
});

test('2 worker processes train the DCGAN to identical replicas (weights, optimizer and batch-norm statistics)', async () => {
  const { out, code, log, workerLogs } = await distributedRun(2, ['--arch', 'dcgan', '--steps', '4', '--limit', '128', '--batch-size', '4', '--check-every', '2', '--sample-every', '2']);
  assert.equal(code, 0, log.slice(-3000));
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
  assert.equal(summary.arch, 'dcgan');
  assert.match(summary.replicaHash, /^[0-9a-f]{64}$/);
  const finals = workerLogs.flatMap((w) => jsonLines(w).filter((l) => l.msg === 'training finished').map((l) => l.hash));
  assert.deepEqual(finals, [summary.replicaHash, summary.replicaHash]);
  // Hashes were also compared mid-run (every 2 steps) without a mismatch.
  assert.ok(!/mismatch/i.test(log));
  assert.deepEqual(decodePng(readFileSync(path.join(out, 'samples', 'step-0000002.png'))), { width: 484, height: 484 });
  // The saved generator is a convolutional model with its batch-norm statistics.
  await selectBackend('cpu', silentLogger);
  const g = await tf.loadLayersModel(directoryLoadHandler(tf, path.join(out, 'generator')));
  assert.deepEqual(g.outputs[0]!.shape, [null, 784]);
  assert.ok(g.weights.some((w) => w.name.endsWith('moving_variance')));
  g.dispose();
});
