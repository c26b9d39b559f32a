import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelHash } from '../../src/shared/config.js';
import { GanReplica } from '../../src/shared/gan/replica.js';
import { silentLogger } from '../../src/shared/logger.js';
import { PROTOCOL_VERSION, type StepDone } from '../../src/shared/protocol.js';
import { ControlLink } from '../../src/worker/controlLink.js';
import { jsonLines, startCli, tempDir, testPort, waitFor } from '../helpers.js';

const report = (step: number): StepDone => ({
  t: 'stepDone', v: PROTOCOL_VERSION, step, dLoss: 1, gLoss: 1, dReal: 0.5, dFake: 0.5, computeMs: 1, reduceMs: 1, applyMs: 1, dataWaitMs: 0, peerWaitMs: 0,
});

test('with --prefetch 4 the coordinator takes a report up to 4 steps ahead of the last completed step, and refuses one of a step never shipped', async () => {
  const port = testPort();
  const coordinator = startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--out', tempDir('prefetch'), '--log-format', 'json', '--log-every', '1',
    '--steps', '20', '--limit', '64', '--batch-size', '4', '--prefetch', '4', '--sample-every', '0', '--worker-timeout', '60', '--timeout', '60']);
  // Two stand-in workers speak the protocol and train nothing: they report steps in the order a test needs,
  // as when rank 0's reports queue behind its multi-MB weights while rank 1 goes on.
  const links = [0, 1].map(() => new ControlLink(silentLogger));
  const timer = setTimeout(() => coordinator.child.kill('SIGKILL'), 120_000);
  try {
    const gens = await Promise.all(links.map(async (l, rank) => {
      l.connect(`tcp://127.0.0.1:${port}`);
      const { config } = await l.handshake({ t: 'hello', v: PROTOCOL_VERSION, backend: 'wasm', host: 'stand-in', pid: rank, dataEndpoint: `tcp://127.0.0.1:${port + 1 + rank}`, rank }, 60_000, 'the coordinator');
      await l.send({ t: 'ready', v: PROTOCOL_VERSION, modelHash: modelHash(config, GanReplica.expectedParamShapes(config)) });
      const start = await l.waitStart(0, 60_000);
      assert.equal(start.rank, rank);
      // Batches went out through step 4 (--prefetch 4) before any step was done.
      for (let step = 1; step <= 4; step++) await l.waitBatch(start.gen, step, 60_000);
      return start.gen;
    }));
    // Rank 1 reports steps 1-4 before rank 0 reports any: 4 steps ahead of the last completed step (0).
    for (let step = 1; step <= 4; step++) await links[1]!.send(report(step));
    for (let step = 1; step <= 4; step++) await links[0]!.send(report(step));
    const completed = (): number[] => jsonLines(coordinator.output()).filter((l) => l.msg === 'step').map((l) => Number(l.step));
    let exited = false;
    void coordinator.exited.then(() => { exited = true; });
    await waitFor(() => completed().includes(4) || exited, 60_000, 'steps 1-4 to complete');
    assert.ok(!exited, coordinator.output().slice(-2000));
    assert.deepEqual(completed(), [1, 2, 3, 4]);
    // Step 4 done: batches went out through step 8. A report of step 9 cannot be genuine.
    await links[1]!.waitBatch(gens[1]!, 8, 60_000);
    await links[1]!.send(report(9));
    assert.equal(await coordinator.exited, 1, coordinator.output().slice(-2000));
    assert.match(coordinator.output(), /trainer: rank 1 reported step 9, which was never shipped \(batches went out through step 8\)/);
  } finally {
    clearTimeout(timer);
    coordinator.child.kill('SIGKILL');
    await Promise.all(links.map((l) => l.close()));
  }
});
