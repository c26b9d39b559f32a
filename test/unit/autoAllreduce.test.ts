import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allreduceLowerBound, chooseAlgorithm, halvingDoublingCost, ringCost } from '../../src/shared/allreduce/costModel.js';
import { simNetwork } from '../../src/shared/allreduce/simLink.js';
import { probeNetwork } from '../../src/shared/allreduce/probe.js';
import { type AutoChoice, AutoAllreduce, chooseForLengths } from '../../src/shared/allreduce/auto.js';
import { simulateAllReduce, simulateProbe } from '../../src/shared/allreduce/simulate.js';
import { memoryPeers } from '../../src/shared/allreduce/memoryLink.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';

test('α-β costs: the ring pays 2(N−1) latencies, halving-doubling 2 log2 p plus a fold for the ranks over a power of two', () => {
  const net = { alphaS: 1, betaBytesPerS: 1000 };
  assert.equal(ringCost(4, 4000, net), 6 * (1 + 1));
  assert.equal(halvingDoublingCost(4, 4000, net), 2 * 2 * 1 + 2 * 0.75 * 4);
  assert.equal(ringCost(3, 3000, net), 4 * (1 + 1));
  assert.equal(halvingDoublingCost(3, 3000, net), 2 * 1 + 2 * 0.5 * 3 + 2 * (1 + 3));
  assert.equal(ringCost(1, 3000, net), 0);
  assert.equal(allreduceLowerBound(5, 5000, net), 3 + 1.6 * 5);
  // Small buffers: latency decides, halving-doubling wins; large ones on a non-power of two: the fold's bytes make the ring cheaper.
  const lan = { alphaS: 20e-6, betaBytesPerS: 1.25e9 };
  assert.equal(chooseAlgorithm(64, 64 << 10, lan).algorithm, 'rhd');
  assert.equal(chooseAlgorithm(6, 64 << 20, lan).algorithm, 'ring');
  assert.equal(chooseAlgorithm(8, 64 << 20, lan).algorithm, 'rhd');
});

test('the start-up probe recovers the simulated α and β, and every rank gets the same figures', async () => {
  for (const world of [2, 5, 8]) {
    const peers = simNetwork(world, { alphaS: 20e-6, betaBytesPerS: 1.25e9, gammaSPerByte: 0 });
    const results = await Promise.all(peers.map((p, r) => probeNetwork(p, r, world, () => p.now, 1, 'd')));
    for (const r of results) assert.deepEqual(r, results[0], 'identical on every rank');
    const { alphaS, betaBytesPerS } = results[0]!;
    assert.ok(Math.abs(alphaS / 20e-6 - 1) < 0.01, `α ${alphaS}`);
    assert.ok(Math.abs(betaBytesPerS / 1.25e9 - 1) < 0.01, `β ${betaBytesPerS}`);
  }
});

test('auto all-reduce: probes once per generation, every rank makes the same choice, and the averages are right with identical bits, N = 1..6', async () => {
  for (let world = 1; world <= 6; world++) {
    const lengths = { d: 1001, g: 37 };
    const links = memoryPeers(world);
    const choices: AutoChoice[][] = Array.from({ length: world }, () => []);
    const autos = links.map((_, r) => new AutoAllreduce(lengths, () => performance.now() / 1000, (c) => choices[r]!.push(c)));
    for (let step = 1; step <= 2; step++) {
      for (const phase of ['d', 'g'] as const) {
        const inputs = randomBuffers(world, lengths[phase], world * 10 + step);
        const bufs = inputs.map((b) => Float32Array.from(b));
        await Promise.all(bufs.map((b, r) => autos[r]!.reduce(b, r, world, links[r]!, step, phase, 100)));
        assertAverages(inputs, bufs, `world ${world} step ${step} phase ${phase}`);
        for (const b of bufs) assert.deepEqual(b, bufs[0]);
      }
    }
    for (const c of choices) assert.deepEqual(c, choices[0], 'the same choice on every rank');
    assert.equal(choices[0]!.length, world === 1 ? 0 : 1, 'one probe per generation');
  }
});

test('in simulated time, auto (its own probe, then the model\'s choice) stays within 1.3× of the better α-β cost, small worlds of bench:scale', async () => {
  const net = { alphaS: 20e-6, betaBytesPerS: 1.25e9, gammaSPerByte: 0 };
  for (const world of [2, 3, 5, 6, 8, 12]) {
    const probe = await simulateProbe(world, net);
    for (const bytes of [64 << 10, 64 << 20]) {
      const algorithm = chooseForLengths({ d: bytes / 4, g: bytes / 4 }, world, probe).phases.d.algorithm;
      const autoS = await simulateAllReduce(algorithm, world, bytes, net);
      const best = Math.min(ringCost(world, bytes, net), halvingDoublingCost(world, bytes, net));
      assert.ok(autoS <= 1.3 * best, `N ${world}, ${bytes} bytes: auto chose ${algorithm}, ${autoS} s against ${best} s`);
    }
  }
});
