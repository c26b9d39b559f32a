import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import * as zmq from 'zeromq';
import type { Summary } from '../../src/coordinator/summary.js';
import { PROTOCOL_VERSION } from '../../src/shared/protocol.js';
import { idxBytes } from '../fixtures/idx.js';
import { jsonLines, runCli, startCli, tempDir, testPort, waitFor } from '../helpers.js';

function dataDir(images: Buffer, labels: Buffer = idxBytes([64])): string {
  const dir = tempDir('data');
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), images);
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), labels);
  return dir;
}

/** One clear line on stderr and exit code 2, before any worker is awaited. */
async function expectUsageError(args: string[], pattern: RegExp): Promise<void> {
  const r = await runCli(args, 30_000);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('trainer: '));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
}

test('a truncated or wrong-magic IDX file is named with what is wrong', async () => {
  const good = idxBytes([64, 28, 28]);
  await expectUsageError(['coordinator', '--workers', '1', '--data', dataDir(good.subarray(0, 1000)), '--port', '0', '--out', tempDir('o')],
    /train-images-idx3-ubyte: file truncated: 1000 bytes, dimensions \[64, 28, 28\] need 50192$/);
  const wrong = Buffer.from(good);
  wrong.writeUInt32BE(0x1f8b0800, 0);
  await expectUsageError(['coordinator', '--workers', '1', '--data', dataDir(Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef]), good.subarray(4)])), '--port', '0', '--out', tempDir('o')],
    /train-images-idx3-ubyte: bad magic number 0xdeadbeef \(not an IDX file\)$/);
  await expectUsageError(['coordinator', '--workers', '1', '--data', dataDir(good, idxBytes([63])), '--port', '0', '--out', tempDir('o')], /63 labels for 64 images/);
});

test('bad flags give one line and exit code 2', async () => {
  const o = tempDir('o');
  await expectUsageError(['coordinator', '--workers', '2', '--batch-size', '0', '--out', o], /--batch-size must be a positive integer, got 0/);
  await expectUsageError(['coordinator', '--workers', '2', '--arch', 'resnet', '--out', o], /arch/);
  await expectUsageError(['coordinator', '--workers', '2', '--steps', '5', '--epochs', '1', '--out', o], /not both/);
  await expectUsageError(['coordinator', '--workers', '2', '--limit', '10', '--port', '0', '--out', o], /10 training examples do not fill one global batch of 128/);
  await expectUsageError(['coordinator', '--workers', '1', '--out', '/proc/no-such-dir'], /--out \/proc\/no-such-dir is not a writable directory/);
  await expectUsageError(['worker', '--coordinator', 'localhost:5555'], /--coordinator must look like tcp:\/\/HOST:PORT/);
  await expectUsageError(['coordinator', '--workers', '1', '--bogus', '1'], /Unknown argument: bogus/);
  await expectUsageError(['coordinator', '--workers', '2', '--spawn-gpus', '0,1', '--out', o], /--spawn-gpus only applies with --spawn/);
  await expectUsageError(['coordinator', '--workers', '2', '--spawn', '--spawn-gpus', '0;1', '--out', o], /--spawn-gpus must be GPU indexes separated by commas/);
  await expectUsageError(['worker', '--coordinator', 'tcp://127.0.0.1:1', '--gpu', '-1'], /--gpu must be/);
  // A metrics port already taken is a usage error that says what to do.
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const busy = String((taken.address() as AddressInfo).port);
    await expectUsageError(['worker', '--coordinator', 'tcp://127.0.0.1:1', '--bind-host', '127.0.0.1', '--metrics-port', busy, '--backend', 'cpu'],
      new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${busy}: .*EADDRINUSE.*choose another --metrics-port`));
  } finally {
    taken.close();
  }
  await expectUsageError(['worker', '--coordinator', 'tcp://127.0.0.1:1', '--backend', 'tensorflow'], /backend tensorflow: neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node loads .*CUDA 11\.2 and cuDNN 8\.1/);
  await expectUsageError(['worker', '--coordinator', 'tcp://127.0.0.1:1', '--backend', 'webgpu'], /backend webgpu: no Vulkan loader \(libvulkan.so.1\): the host needs a GPU with a Vulkan driver/);
});

test('a worker that cannot reach a coordinator exits with a clear error instead of hanging', async () => {
  const r = await runCli(['worker', '--coordinator', `tcp://127.0.0.1:${testPort()}`, '--connect-timeout', '1', '--backend', 'cpu'], 30_000);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /trainer: no answer from the coordinator at tcp:\/\/127\.0\.0\.1:\d+ within 1000 ms/);
});

test('a worker with another protocol version is refused with a clear error on both sides', async () => {
  const port = testPort();
  const out = tempDir('ver');
  const coordinator = startCli(['coordinator', '--workers', '1', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json', '--limit', '64', '--batch-size', '8', '--steps', '2', '--register-timeout', '20']);
  try {
    const bad = await runCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--protocol-version', '99', '--advertise', '127.0.0.1', '--backend', 'cpu', '--connect-timeout', '20'], 30_000);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`trainer: coordinator refused this worker: peer speaks protocol version 99, this side speaks ${PROTOCOL_VERSION}\\b`));
    await waitFor(() => coordinator.output().includes('protocol version 99'), 10_000, 'the coordinator to log the refusal');
    // The coordinator keeps waiting for a valid worker, which then trains normally.
    const good = await runCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--backend', 'cpu'], 60_000);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(await coordinator.exited, 0);
  } finally {
    coordinator.child.kill('SIGKILL');
  }
});

test('malformed frames sent to a running coordinator are dropped and counted; the run completes', async () => {
  const port = testPort();
  const out = tempDir('fuzz');
  const coordinator = startCli(['coordinator', '--workers', '1', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json', '--limit', '64', '--batch-size', '8', '--steps', '4', '--register-timeout', '30']);
  const intruder = new zmq.Dealer({ linger: 0 });
  try {
    intruder.connect(`tcp://127.0.0.1:${port}`);
    const garbage = [[Buffer.from('not msgpack at all')], [Buffer.from([0x81, 0xa1, 0x74, 0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f])], [Buffer.alloc(0)], [Buffer.from([0x90]), Buffer.alloc(12)]];
    for (const frames of garbage) await intruder.send(frames);
    const worker = await runCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--backend', 'cpu'], 60_000);
    assert.equal(worker.code, 0, worker.stderr);
    assert.equal(await coordinator.exited, 0, coordinator.output().slice(-2000));
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    assert.equal(summary.droppedFrames, garbage.length);
    const warnings = jsonLines(coordinator.output()).filter((l) => l.level === 'warn' && String(l.msg).startsWith('dropped invalid worker frame'));
    assert.equal(warnings.length, 1, 'logged once per peer, counted every time');
  } finally {
    intruder.close();
    coordinator.child.kill('SIGKILL');
  }
});

test('a worker that dies stops the run with an error naming it, not a hang', async () => {
  const out = tempDir('die');
  const port = testPort();
  const coordinator = startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json', '--limit', '512', '--batch-size', '8', '--steps', '10000', '--timeout', '3']);
  const workers = [0, 1].map(() => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--log-format', 'json']));
  try {
    await waitFor(() => coordinator.output().includes('"msg":"step"'), 60_000, 'training to start');
    const victim = Number(/joined as rank (\d)/.exec(workers[1]!.output())?.[1]);
    workers[1]!.child.kill('SIGKILL');
    assert.equal(await coordinator.exited, 1);
    // Either the coordinator's step deadline or the survivor's all-reduce deadline fires first; both name the dead rank.
    const named = new RegExp(`trainer: (step \\d+ not completed within 3000 ms: no report from rank ${victim}$|rank ${1 - victim} failed: all-reduce: no step \\d+ phase [dg] chunk \\d+ from rank ${victim} within 3000 ms$)`, 'm');
    assert.match(coordinator.output(), named);
    assert.notEqual(await workers[0]!.exited, 0, 'the surviving worker is told to stop and exits non-zero');
  } finally {
    coordinator.child.kill('SIGKILL');
    for (const w of workers) w.child.kill('SIGKILL');
  }
});

/** A coordinator and two separately started workers, the second of which produces a NaN gradient at step 3. */
async function runWithNanAt3(maxBadSteps: number): Promise<{ code: number | null; log: string; out: string; workerCodes: Array<number | null> }> {
  const out = tempDir('nan');
  const port = testPort();
  const coordinator = startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--steps', '6', '--limit', '256',
    '--batch-size', '8', '--sample-every', '0', '--check-every', '2', '--log-format', 'json', '--timeout', '30', '--max-bad-steps', String(maxBadSteps)]);
  const worker = (extra: string[]): ReturnType<typeof startCli> => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--log-format', 'json', ...extra]);
  const workers = [worker([]), worker(['--fault-nan-step', '3'])];
  const timer = setTimeout(() => { coordinator.child.kill('SIGKILL'); for (const w of workers) w.child.kill('SIGKILL'); }, 120_000);
  const code = await coordinator.exited;
  const workerCodes = await Promise.all(workers.map((w) => w.exited));
  clearTimeout(timer);
  return { code, log: coordinator.output(), out, workerCodes };
}

test('a NaN gradient on one worker: every replica skips that update, the run goes on, and it is counted', async () => {
  const { code, log, out, workerCodes } = await runWithNanAt3(5);
  assert.equal(code, 0, log.slice(-2000));
  assert.deepEqual(workerCodes, [0, 0]);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
  assert.equal(summary.badSteps, 1);
  assert.ok(jsonLines(log).some((l) => l.level === 'warn' && /step 3: averaged discriminator gradients not finite; update skipped on every replica/.test(String(l.msg))));
});

test('more non-finite steps than --max-bad-steps stop the run with a clear error', async () => {
  const { code, log } = await runWithNanAt3(0);
  assert.equal(code, 1);
  assert.match(log, /trainer: 1 step with non-finite gradients \(the last at step 3\), more than --max-bad-steps 0/);
});
