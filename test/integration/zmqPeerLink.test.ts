import { ZmqRingLink } from '../../src/shared/transport/zmqRingLink.js';
import { silentLogger } from '../../src/shared/logger.js';
import { peerLinkConformance } from '../fixtures/peerLinkSuite.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AutoChoice, AutoAllreduce } from '../../src/shared/allreduce/auto.js';
import { DEFAULT_PROBE, probeMessages } from '../../src/shared/allreduce/probe.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';

// The ZeroMQ link under the same PeerLink conformance suite as the in-memory and simulated ones (test/unit/peerLinks.test.ts).
peerLinkConformance('ZeroMQ peers on loopback', async (world, timeoutMs) => {
  const links = Array.from({ length: world }, () => new ZmqRingLink(silentLogger, timeoutMs));
  const ports = await Promise.all(links.map((l) => l.bind('tcp://127.0.0.1:*')));
  const roster = ports.map((port) => ({ endpoint: `tcp://127.0.0.1:${port}` }));
  links.forEach((l, r) => {
    l.expect({ lengths: { d: 1001, g: 1001 }, segmentElements: 100, maxWorld: world, peerToPeer: true });
    l.begin(1, 0, world, (r - 1 + world) % world, world > 1 ? roster[(r + 1) % world] : undefined);
    l.roster(r, roster);
  });
  return { links, close: async () => void (await Promise.all(links.map((l) => l.close()))) };
});

test('auto all-reduce over ZeroMQ: the probe\'s messages pass the chunk admission rule, every rank chooses alike, averages right', async () => {
  const world = 3;
  const lengths = { d: 5000, g: 300 };
  const links = Array.from({ length: world }, () => new ZmqRingLink(silentLogger, 10_000));
  const ports = await Promise.all(links.map((l) => l.bind('tcp://127.0.0.1:*')));
  const roster = ports.map((port) => ({ endpoint: `tcp://127.0.0.1:${port}` }));
  try {
    links.forEach((l, r) => {
      l.expect({ lengths, segmentElements: 1000, maxWorld: world, peerToPeer: true, probe: { messages: probeMessages(DEFAULT_PROBE, world), elements: DEFAULT_PROBE.largeElements } });
      l.begin(1, 0, world, (r - 1 + world) % world, roster[(r + 1) % world]);
      l.roster(r, roster);
    });
    const choices: AutoChoice[] = [];
    const autos = links.map(() => new AutoAllreduce(lengths, () => performance.now() / 1000, (c) => choices.push(c)));
    for (const phase of ['d', 'g'] as const) {
      const inputs = randomBuffers(world, lengths[phase], 5);
      const bufs = inputs.map((b) => Float32Array.from(b));
      await Promise.all(bufs.map((b, r) => autos[r]!.reduce(b, r, world, links[r]!, 1, phase, 1000)));
      assertAverages(inputs, bufs, `phase ${phase}`);
      for (const b of bufs) assert.deepEqual(b, bufs[0]);
    }
    assert.equal(choices.length, world);
    for (const c of choices) assert.deepEqual(c, choices[0]);
    assert.equal(links.reduce((n, l) => n + l.dropped, 0), 0, 'nothing dropped');
  } finally {
    await Promise.all(links.map((l) => l.close()));
  }
});
