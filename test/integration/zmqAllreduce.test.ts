import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ringAllReduce } from '../../src/shared/allreduce/ring.js';
import { ZmqRingLink } from '../../src/shared/transport/zmqRingLink.js';
import { ControlLink } from '../../src/worker/controlLink.js';
import { silentLogger } from '../../src/shared/logger.js';
import { PROTOCOL_VERSION } from '../../src/shared/protocol.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';
import { startStarHub } from '../fixtures/starHub.js';

const LENGTHS = [1, 7, 13, 1001, 65537];
// Small enough that the larger buffers travel as many pipelined segments per chunk.
const SEGMENT = 1000;

async function ringOf(world: number): Promise<ZmqRingLink[]> {
  const links = Array.from({ length: world }, () => new ZmqRingLink(silentLogger, 10_000));
  const ports = await Promise.all(links.map((l) => l.bind('tcp://127.0.0.1:*')));
  links.forEach((l, r) => l.begin(1, 0, (r - 1 + world) % world, world > 1 ? { endpoint: `tcp://127.0.0.1:${ports[(r + 1) % world]}` } : undefined));
  return links;
}

test('ring all-reduce over ZeroMQ on loopback equals the naive average, N = 1..5', async () => {
  for (let world = 1; world <= 5; world++) {
    const links = await ringOf(world);
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
          return (await links[r]!.waitReduced(1, step, 'd', 10_000)).data;
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
  const links = await ringOf(2);
  try {
    links.forEach((l) => { l.timeoutMs = 200; });
    await assert.rejects(ringAllReduce(new Float32Array(10), 0, 2, links[0]!, 1, 'd'), /no step 1 phase d chunk 0 from rank 1 within 200 ms/);
  } finally {
    await Promise.all(links.map((l) => l.close()));
  }
});
