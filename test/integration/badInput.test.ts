import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import * as zmq from 'zeromq';
import type { Summary } from '../../src/coordinator/summary.js';
import { decode } from '../../src/shared/codec.js';
import { PROTOCOL_VERSION, parseChunk, parseWorkerMessage } from '../../src/shared/protocol.js';
import { fuzzFrames } from '../fixtures/fuzz.js';
import { idxBytes } from '../fixtures/idx.js';
import { ROOT, jsonLines, runCli, startCli, tempDir, testPort, waitFor } from '../helpers.js';

function dataDir(images: Buffer, labels: Buffer = idxBytes([64])): string {
  const dir = tempDir('data');
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), images);
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), labels);
  return dir;
}

/** One clear line on stderr and exit code 2, before any worker is awaited. */
async function expectUsageError(args: string[], pattern: RegExp, env: Record<string, string> = {}): Promise<void> {
  const r = await runCli(args, 30_000, env);
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
  // The packages are hidden from the worker, so the message is the same on a host that has them (see also backendLoadErrors.test).
  await expectUsageError(['worker', '--coordinator', 'tcp://127.0.0.1:1', '--backend', 'tensorflow'],
    /backend tensorflow: neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node loads \(@tensorflow\/tfjs-node-gpu: Cannot find package '@tensorflow\/tfjs-node-gpu' \(hidden by the test\); @tensorflow\/tfjs-node: .*\); install .*CUDA 11\.2 and cuDNN 8\.1/,
    { NODE_OPTIONS: `--import ${pathToFileURL(path.join(ROOT, 'dist/test/fixtures/hideTensorflowNode.js')).href}` });
});

test('a worker that cannot reach a coordinator exits with a clear error instead of hanging', async () => {
  const r = await runCli(['worker', '--coordinator', `tcp://127.0.0.1:${testPort()}`, '--connect-timeout', '1', '--backend', 'cpu'], 30_000);
  assert.equal(r.code, 2, 'an unreachable coordinator is a usage error');
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
    assert.equal(await coordinator.exited, 0, coordinator.output().slice(-2000));
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

test('in a fixed world, a worker that dies stops the run with an error naming it, not a hang', async () => {
  const out = tempDir('die');
  const port = testPort();
  const coordinator = startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json', '--limit', '512', '--batch-size', '8', '--steps', '10000', '--timeout', '3', '--rejoin-timeout', '0']);
  const workers = [0, 1].map(() => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--log-format', 'json']));
  try {
    await waitFor(() => coordinator.output().includes('"msg":"step"'), 60_000, 'training to start');
    const victim = Number(/generation 1: rank (\d) of 2/.exec(workers[1]!.output())?.[1]);
    workers[1]!.child.kill('SIGKILL');
    assert.equal(await coordinator.exited, 1, coordinator.output().slice(-2000));
    // --timeout is under --worker-timeout here, so a deadline fires before the silence is noticed. Either the coordinator's
    // step deadline names the rank that did not report (or, when the survivor was itself waiting on the victim, the one
    // heard from least recently), or the survivor's all-reduce deadline fires and names it; the survivor is then lost too,
    // the victim never answers the abort, and below --min-workers with --rejoin-timeout 0 the run stops.
    const last = coordinator.output().trim().split('\n').at(-1)!;
    const stepDeadline = new RegExp(`^trainer: step \\d+ not completed within 3000 ms: no report from (rank ${victim}|ranks 0, 1 \\(rank ${victim} last heard from \\d+\\.\\d s ago\\))$`);
    // The survivor's all-reduce deadline names the victim: over the links (a chunk that never came), or on one host at a shared-memory barrier.
    const ringDeadline = new RegExp(`^trainer: only 0 workers left, fewer than --min-workers 2, and none joined within --rejoin-timeout 0 s .*failed: E_TIMEOUT: all-reduce: (no step \\d+ phase [dg] chunk \\d+ from rank ${victim}|no rank ${victim} at shared-memory barrier \\d+) within 3000 ms.*did not answer the abort of generation 1 within 3000 ms`);
    assert.ok(stepDeadline.test(last) || ringDeadline.test(last), last);
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

test('10,000 hostile frames at the coordinator and 10,000 at a worker\'s ring port: all dropped and counted, training unaffected', async (t) => {
  // Long enough that every frame reaches the worker while it trains: here by about step 220 (150 steps were enough before the native MLP got 1.3× faster).
  const flags = ['--steps', '600', '--limit', '256', '--batch-size', '8', '--sample-every', '0', '--check-every', '10', '--log-format', 'json'];
  const baselineOut = tempDir('fuzz-baseline');
  const baseline = await runCli(['coordinator', '--workers', '2', '--spawn', '--port', '0', '--out', baselineOut, ...flags]);
  assert.equal(baseline.code, 0, baseline.stderr.slice(-2000));

  const out = tempDir('fuzz');
  const port = testPort();
  const coordinator = startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--timeout', '30', ...flags]);
  const workers = [0, 1].map(() => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--log-format', 'json']));
  const timer = setTimeout(() => { coordinator.child.kill('SIGKILL'); for (const w of workers) w.child.kill('SIGKILL'); }, 120_000);
  const toCoordinator = new zmq.Dealer({ linger: 0, sendHighWaterMark: 100_000 });
  const toWorker = new zmq.Push({ linger: 1000, sendHighWaterMark: 100_000 });
  try {
    await waitFor(() => jsonLines(coordinator.output()).some((l) => l.msg === 'step'), 60_000, 'training to start');
    const joined = jsonLines(workers[0]!.output()).find((l) => typeof l.dataEndpoint === 'string' && /registered as worker/.test(String(l.msg)))!;
    const f32 = new Float32Array([1, 2, 3]);
    const coordinatorFrames = fuzzFrames(1, 10_000, [
      { t: 'hello', v: PROTOCOL_VERSION, backend: 'wasm', host: 'h', pid: 1, dataEndpoint: 'tcp://127.0.0.1:1' },
      { t: 'stepDone', v: PROTOCOL_VERSION, step: 2, dLoss: 1, gLoss: 1, dReal: 0.5, dFake: 0.5, computeMs: 1, reduceMs: 1, applyMs: 1, dataWaitMs: 0, peerWaitMs: 0 },
      { t: 'grad', v: PROTOCOL_VERSION, step: 2, phase: 'd', data: f32 },
      { t: 'weights', v: PROTOCOL_VERSION, step: 2, generator: f32, discriminator: f32 },
      { t: 'ready', v: PROTOCOL_VERSION, modelHash: 'a'.repeat(64) },
    ], (frames) => {
      // Well-formed messages from a stranger are dropped too; a well-formed hello is a registration attempt, refused apart.
      try {
        return parseWorkerMessage(decode(frames)).t !== 'hello';
      } catch {
        return true;
      }
    });
    const workerFrames = fuzzFrames(2, 10_000, [{ t: 'chunk', v: PROTOCOL_VERSION, gen: 1, step: 1_000_000, phase: 'g', seq: 3, data: f32 }], (frames) => {
      try {
        return parseChunk(decode(frames)).step > 1000;
      } catch {
        return true;
      }
    });
    toCoordinator.connect(`tcp://127.0.0.1:${port}`);
    toWorker.connect(String(joined.dataEndpoint));
    for (const frames of coordinatorFrames) await toCoordinator.send(frames);
    for (const frames of workerFrames) await toWorker.send(frames);
    // Sent is not received: wait, while training runs, until the worker has taken (and dropped) every frame.
    const metricsUrl = /metrics on (http:\/\/\S+\/metrics)/.exec(workers[0]!.output())![1]!;
    // The worker's count and step; undefined once it has finished (its metrics server is gone): the checks below then say how many it counted.
    const workerMetric = async (name: string): Promise<number | undefined> => {
      const text = await fetch(metricsUrl).then((r) => r.text(), () => undefined);
      return text === undefined ? undefined : Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text)?.[1] ?? -1);
    };
    for (let t0 = Date.now(), n = await workerMetric('trainer_worker_dropped_frames_total'); n !== undefined && n < 10_000; n = await workerMetric('trainer_worker_dropped_frames_total')) {
      assert.ok(Date.now() - t0 < 30_000, 'the worker did not receive all 10,000 frames in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    // How much of the run the frames took: the margin the step count leaves.
    t.diagnostic(`every frame at the worker by its step ${await workerMetric('trainer_worker_step') ?? '(finished)'} of ${flags[1]}`);

    assert.equal(await coordinator.exited, 0, coordinator.output().slice(-3000));
    assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    assert.equal(summary.droppedFrames, 10_000);
    const finished = jsonLines(workers[0]!.output()).find((l) => l.msg === 'training finished')!;
    assert.equal(finished.droppedFrames, 10_000);
    // Logged once per peer, not once per frame.
    assert.equal(jsonLines(coordinator.output()).filter((l) => l.level === 'warn' && String(l.msg).startsWith('dropped invalid worker frame')).length, 1);
    assert.equal(summary.replicaHash, (JSON.parse(readFileSync(path.join(baselineOut, 'summary.json'), 'utf8')) as Summary).replicaHash, 'the same replicas as without the intruders');
  } finally {
    clearTimeout(timer);
    toCoordinator.close();
    toWorker.close();
    coordinator.child.kill('SIGKILL');
    for (const w of workers) w.child.kill('SIGKILL');
  }
});

test('heartbeats: a worker killed mid-run is named within --worker-timeout; workers of a killed coordinator exit with status 3', async () => {
  const run = (out: string, port: number): { coordinator: ReturnType<typeof startCli>; workers: Array<ReturnType<typeof startCli>> } => ({
    coordinator: startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json', '--limit', '512',
      '--batch-size', '8', '--steps', '10000', '--timeout', '60', '--heartbeat-interval', '0.5', '--worker-timeout', '2', '--rejoin-timeout', '0']),
    workers: [0, 1].map(() => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--log-format', 'json'])),
  });
  const first = run(tempDir('lost-worker'), testPort());
  const second = run(tempDir('lost-coordinator'), testPort());
  const all = [first, second].flatMap((r) => [r.coordinator, ...r.workers]);
  try {
    await waitFor(() => [first, second].every((r) => r.coordinator.output().includes('"msg":"step"')), 60_000, 'training to start');
    // A dead worker: found by its silence, long before the 60 s step deadline.
    const victim = Number(/generation 1: rank (\d) of 2/.exec(first.workers[1]!.output())?.[1]);
    first.workers[1]!.child.kill('SIGKILL');
    assert.equal(await first.coordinator.exited, 1, first.coordinator.output().slice(-2000));
    // The reason, not a stopwatch, shows which mechanism noticed: the 60 s step deadline would say "not completed within".
    assert.match(first.coordinator.output(), new RegExp(`worker \\d \\(rank ${victim}\\) .+/\\d+ lost: silent for \\d+\\.\\d s, more than --worker-timeout 2 s`));
    // A fixed world with --rejoin-timeout 0 stops at once, saving what the survivor holds.
    assert.match(first.coordinator.output(), /trainer: only 1 worker left, fewer than --min-workers 2, and none joined within --rejoin-timeout 0 s .*checkpoint at step \d+ written: resume with --resume/);
    // A dead coordinator: both workers notice and exit with the status a supervisor can act on.
    second.coordinator.child.kill('SIGKILL');
    const codes = await Promise.all(second.workers.map((w) => w.exited));
    assert.deepEqual(codes, [3, 3], second.workers.map((w) => w.output().slice(-500)).join('\n'));
    for (const w of second.workers) assert.match(w.output(), /trainer: no heartbeat from the coordinator at tcp:\/\/127\.0\.0\.1:\d+ for \d+\.\d s \(--worker-timeout 2 s\): it is gone/);
  } finally {
    for (const p of all) p.child.kill('SIGKILL');
  }
});
