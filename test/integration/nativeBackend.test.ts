import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Summary } from '../../src/coordinator/summary.js';
import { sharedCoreFlags } from '../../src/coordinator/sharedCores.js';
import { jsonLines, runCli, startCli, tempDir, testPort } from '../helpers.js';

const readSummary = (out: string): Summary => JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;

test('--backend native --threads 2 reaches the spawned workers; summary.json names the backend and its BLAS threads; workers filling the cores run single-threaded V8', async () => {
  const out = tempDir('native');
  const r = await runCli(['coordinator', '--workers', '2', '--spawn', '--backend', 'native', '--threads', '2', '--steps', '4', '--limit', '256',
    '--batch-size', '16', '--port', '0', '--out', out, '--log-format', 'json', '--sample-every', '0']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const summary = readSummary(out);
  assert.equal(summary.backend, 'native');
  assert.deepEqual(summary.workerBackends, ['native', 'native']);
  assert.deepEqual(summary.workerDevices, ['CPU, OpenBLAS 2 threads', 'CPU, OpenBLAS 2 threads']);
  // On a host of 2 cores or fewer (as CI's) the two workers fill them: each was started with --single-threaded, and the coordinator said so.
  const expected = sharedCoreFlags(2, os.availableParallelism()).flags;
  const records = jsonLines(r.stdout + r.stderr);
  const registered = records.filter((l) => l.component === 'worker' && /^registered as worker/.test(String(l.msg)));
  assert.equal(registered.length, 2);
  for (const l of registered) assert.deepEqual(l.nodeFlags, expected);
  assert.equal(records.some((l) => l.component === 'coordinator' && /node --single-threaded/.test(String(l.msg))), expected.length > 0);
});

// The MLP's phases differ between the two (the trainer's ops on native, tfjs-layers on wasm): their gradients differ in
// rounding, the averaged ones do not, so the replicas stay identical.
for (const arch of ['dcgan', 'mlp'] as const) {
  test(`a native worker and a wasm worker train the ${arch} to identical replicas: both apply the same update bit for bit`, async () => {
    const out = tempDir(`mixed-${arch}`);
    const port = testPort();
    const coordinator = startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json',
      '--arch', arch, '--steps', '6', '--check-every', '2', '--limit', '256', '--batch-size', '8', '--sample-every', '0', '--timeout', '60', '--register-timeout', '60']);
    const workers = ['native', 'wasm'].map((backend) => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1',
      '--bind-host', '127.0.0.1', '--log-format', 'json', '--backend', backend]));
    const timer = setTimeout(() => { for (const p of [coordinator, ...workers]) p.child.kill('SIGKILL'); }, 240_000);
    const code = await coordinator.exited;
    const workerCodes = await Promise.all(workers.map((w) => w.exited));
    clearTimeout(timer);
    assert.equal(code, 0, coordinator.output().slice(-3000));
    assert.deepEqual(workerCodes, [0, 0]);
    const summary = readSummary(out);
    assert.deepEqual([...summary.workerBackends].sort(), ['native', 'wasm']);
    // The coordinator compared the replica hashes at steps 2, 4 and 6; each worker ends with the summary's.
    const finals = workers.flatMap((w) => jsonLines(w.output()).filter((l) => l.msg === 'training finished').map((l) => l.hash));
    assert.deepEqual(finals, [summary.replicaHash, summary.replicaHash]);
  });
}
