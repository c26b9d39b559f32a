import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ringAllReduce } from '../../src/shared/allreduce/ring.js';
import { ZmqRingLink } from '../../src/shared/transport/zmqRingLink.js';
import type { RingLayout } from '../../src/shared/allreduce/link.js';
import { decode, encode } from '../../src/shared/codec.js';
import { parseChunk } from '../../src/shared/protocol.js';
import { fuzzFrames } from '../fixtures/fuzz.js';
import { waitFor } from '../helpers.js';
import * as zmq from 'zeromq';
import { ControlLink } from '../../src/worker/controlLink.js';
import { silentLogger } from '../../src/shared/logger.js';
import { PROTOCOL_VERSION } from '../../src/shared/protocol.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';
import { startStarHub } from '../fixtures/starHub.js';
import { fromWire } from '../../src/shared/allreduce/compression.js';

const LENGTHS = [1, 7, 13, 1001, 65537];
// Small enough that the larger buffers travel as many pipelined segments per chunk.
const SEGMENT = 1000;

async function ringOf(world: number, layout: RingLayout = { lengths: { d: 65537, g: 65537 }, segmentElements: SEGMENT, maxWorld: world }): Promise<{ links: ZmqRingLink[]; ports: number[] }> {
  const links = Array.from({ length: world }, () => new ZmqRingLink(silentLogger, 10_000));
  const ports = await Promise.all(links.map((l) => l.bind('tcp://127.0.0.1:*')));
  links.forEach((l, r) => {
    l.expect(layout);
    l.begin(1, 0, world, (r - 1 + world) % world, world > 1 ? { endpoint: `tcp://127.0.0.1:${ports[(r + 1) % world]}` } : undefined);
  });
  return { links, ports };
}

test('ring all-reduce over ZeroMQ on loopback equals the naive average, N = 1..5', async () => {
  for (let world = 1; world <= 5; world++) {
    const { links } = await ringOf(world);
    try {
      let step = 1;
      for (const len of LENGTHS) {
        const inputs = randomBuffers(world, len, world * 7 + len);
        const bufs = inputs.map((b) => Float32Array.from(b));
        await Promise.all(bufs.map((b, r) => ringAllReduce(b, r, world, links[r]!, step, 'g', SEGMENT)));
        step++;
        assertAverages(inputs, bufs, `zmq world ${world} length ${len}`);
        for (const b of bufs) assert.deepEqual(b, bufs[0]);
      }
    } finally {
      await Promise.all(links.map((l) => l.close()));
    }
  }
});

test('star all-reduce through a ROUTER hub over ZeroMQ equals the naive average, N = 1..5', async () => {
  for (let world = 1; world <= 5; world++) {
    const { endpoint, ranks, close } = await startStarHub(world, () => assert.fail('no version mismatch expected'));
    const links = Array.from({ length: world }, () => new ControlLink(silentLogger));
    try {
      await Promise.all(links.map(async (l, r) => {
        l.connect(endpoint);
        await l.send({ t: 'hello', v: PROTOCOL_VERSION, backend: 'x', host: String(r), pid: 1, dataEndpoint: 'tcp://127.0.0.1:1' });
      }));
      while (ranks.size < world) await new Promise((r) => setTimeout(r, 10));
      let step = 1;
      for (const len of LENGTHS) {
        const inputs = randomBuffers(world, len, world + len);
        const outs = await Promise.all(inputs.map(async (b, r) => {
          await links[r]!.send({ t: 'grad', v: PROTOCOL_VERSION, gen: 1, step, phase: 'd', data: b });
          return fromWire((await links[r]!.waitReduced(1, step, 'd', 10_000)).data, undefined, 'averaged gradients');
        }));
        step++;
        assertAverages(inputs, outs, `star world ${world} length ${len}`);
      }
    } finally {
      await Promise.all(links.map((l) => l.close()));
      await close();
    }
  }
});

test('a chunk that does not arrive in time names the silent predecessor', async () => {
  const { links } = await ringOf(2);
  try {
    links.forEach((l) => { l.timeoutMs = 200; });
    await assert.rejects(ringAllReduce(new Float32Array(10), 0, 2, links[0]!, 1, 'd'), /no step 1 phase d chunk 0 from rank 1 within 200 ms/);
  } finally {
    await Promise.all(links.map((l) => l.close()));
  }
});

test('hostile chunks at a ring port: bad sequence numbers and sizes in the window, too far ahead, a flood of later generations over the byte bound; all dropped and counted, the average still right', async () => {
  // Buffers of up to 2000 floats in 500-float segments over 2 ranks: 4 chunks per phase (seq 0-3), 500 floats at most.
  const layout: RingLayout = { lengths: { d: 2000, g: 2000 }, segmentElements: 500, maxWorld: 2 };
  const { links, ports } = await ringOf(2, layout);
  const intruder = new zmq.Push({ linger: 1000, sendHighWaterMark: 100_000 });
  try {
    const templates = [
      { t: 'chunk', v: PROTOCOL_VERSION, gen: 1, step: 1, phase: 'd', seq: 4, data: new Float32Array(500) },
      { t: 'chunk', v: PROTOCOL_VERSION, gen: 1, step: 2, phase: 'g', seq: 1_000_000, data: new Float32Array(10) },
      { t: 'chunk', v: PROTOCOL_VERSION, gen: 1, step: 1, phase: 'g', seq: 0, data: new Float32Array(501) },
      { t: 'chunk', v: PROTOCOL_VERSION, gen: 2, step: 2, phase: 'd', seq: 7, data: new Float32Array(3) },
    ];
    // A well-formed chunk of the window with a real sequence number and size is a forgery only CURVE can tell: left out.
    const hostile = fuzzFrames(3, 2000, templates, (frames) => {
      try {
        const c = parseChunk(decode(frames));
        return c.seq >= 4 || c.data.length > 500 || c.step > 2;
      } catch {
        return true;
      }
    });
    // Later generations' chunks are kept for when this rank gets there, up to one window's bytes:
    // 3 steps × 2 phases × 4 chunks × 500 floats × 4 bytes = 48,000 bytes, 24 chunks of 2000 bytes.
    const flood = Array.from({ length: 100 }, (_, i) => encode({ t: 'chunk', v: PROTOCOL_VERSION, gen: 2 + i, step: 1, phase: 'd', seq: 0, data: new Float32Array(500).fill(1e30) }));
    intruder.connect(`tcp://127.0.0.1:${ports[0]}`);
    for (const frames of [...hostile, ...flood]) await intruder.send(frames);
    await waitFor(() => links[0]!.dropped >= hostile.length + 76, 30_000, `rank 0 to drop ${hostile.length + 76} chunks (dropped ${links[0]!.dropped})`);
    assert.equal(links[0]!.dropped, hostile.length + 76);
    // The ring works on, with the exact average: nothing hostile was taken in place of a real chunk.
    for (let step = 1; step <= 2; step++) {
      for (const phase of ['d', 'g'] as const) {
        const inputs = randomBuffers(2, 2000, step * 10 + phase.length);
        const bufs = inputs.map((b) => Float32Array.from(b));
        await Promise.all(bufs.map((b, r) => ringAllReduce(b, r, 2, links[r]!, step, phase, 500)));
        assertAverages(inputs, bufs, `step ${step} phase ${phase}`);
        assert.deepEqual(bufs[0], bufs[1]);
      }
    }
    assert.equal(links[0]!.dropped, hostile.length + 76);
    assert.equal(links[1]!.dropped, 0);
  } finally {
    intruder.close();
    await Promise.all(links.map((l) => l.close()));
  }
});
