import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerReduce } from '../../src/worker/peerReduce.js';
import { memoryPeers } from '../../src/shared/allreduce/memoryLink.js';
import type { SharedMemoryAddon } from '../../src/shared/transport/sharedMemory.js';
import { averageSlotsJs } from '../../src/shared/allreduce/sharedMemoryReduce.js';
import { PROTOCOL_VERSION, type Start } from '../../src/shared/protocol.js';
import { silentLogger } from '../../src/shared/logger.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';
import { type Averaged, averagedRange } from '../../src/shared/allreduce/averaged.js';
import type { ChunkTag } from '../../src/shared/allreduce/link.js';

/** Segments by name in this process: what shm_open gives processes of one host. */
function fakeShm(): SharedMemoryAddon & { mapped: string[]; unlinked: string[] } {
  const segments = new Map<string, ArrayBuffer>();
  const mapped: string[] = [];
  const unlinked: string[] = [];
  return {
    mapped, unlinked,
    shmMap(name, bytes) {
      mapped.push(name);
      if (!segments.has(name)) segments.set(name, new ArrayBuffer(bytes));
      return segments.get(name)!;
    },
    shmUnlink(name) {
      unlinked.push(name);
      return segments.delete(name);
    },
  };
}

const start = (rank: number, world: number, gen: number, sharedMemory?: string): Start => ({
  t: 'start', v: PROTOCOL_VERSION, gen, rank, world, ring: Array.from({ length: world }, (_, i) => `tcp://h:${i + 1}`), step: 0, ...(sharedMemory ? { sharedMemory } : {}),
});

/** Every rank's all-reduce of random buffers; `outputs` are the averages formed (a copy where pending), `results` what reduce returned, `messages` how many each rank sent. */
async function reduceAll(reducers: PeerReduce[], world: number, step: number, len: number): Promise<{ inputs: Float32Array[]; outputs: Float32Array[]; results: Averaged[]; messages: number[] }> {
  const messages = Array.from({ length: world }, () => 0);
  const links = memoryPeers(world).map((l, r) => ({ ...l, timeoutMs: l.timeoutMs, assertLive: () => l.assertLive(), recv: l.recv.bind(l), send: (to: number, tag: ChunkTag, data: Float32Array) => { messages[r]!++; return l.send(to, tag, data); } }));
  const inputs = randomBuffers(world, len, step);
  const results = await Promise.all(inputs.map((b, r) => reducers[r]!.reduce(Float32Array.from(b), r, world, links[r]!, step, 'd', {})));
  return { inputs, outputs: results.map((a) => Float32Array.from(averagedRange(a, 0, len))), results, messages };
}

test('--allreduce shm: a generation whose start names a segment reduces through it (unlinked after the first barrier); one without runs the ring over the links', async () => {
  const world = 3;
  const lengths = { d: 101, g: 40 };
  const shm = fakeShm();
  const reducers = Array.from({ length: world }, () => new PeerReduce('shm', lengths, () => silentLogger, shm));
  assert.deepEqual(reducers[0]!.layout(world), { lengths, segmentElements: 262_144, maxWorld: world, peerToPeer: true, sharedMemory: true });
  reducers.forEach((p, r) => p.roster(start(r, world, 1, '/trainer-ab-g1')));
  const viaShm = await reduceAll(reducers, world, 1, 101);
  assertAverages(viaShm.inputs, viaShm.outputs, 'through shared memory');
  assert.deepEqual(shm.mapped, ['/trainer-ab-g1', '/trainer-ab-g1', '/trainer-ab-g1']);
  assert.ok(shm.unlinked.includes('/trainer-ab-g1'), 'unlinked once every rank has it');
  // The next generation has no segment (a rank on another host): the ring over the peer links, same average.
  reducers.forEach((p, r) => p.roster(start(r, world, 2)));
  const viaLinks = await reduceAll(reducers, world, 2, 101);
  assertAverages(viaLinks.inputs, viaLinks.outputs, 'over the links');
  assert.equal(shm.mapped.length, world, 'no segment mapped for generation 2');
});

test('a shared-memory generation averages with the addon\'s averageSlots where the addon has it', async () => {
  const world = 2;
  const shm = fakeShm();
  const calls: number[] = [];
  // The JavaScript average, counted: the generation must call what the addon offers.
  shm.averageSlots = (out, parts, factor) => {
    calls.push(parts.length);
    averageSlotsJs(out, parts, factor);
  };
  const reducers = Array.from({ length: world }, () => new PeerReduce('shm', { d: 64, g: 64 }, () => silentLogger, shm));
  reducers.forEach((p, r) => p.roster(start(r, world, 1, '/trainer-ab-g1')));
  const { inputs, outputs } = await reduceAll(reducers, world, 1, 64);
  assertAverages(inputs, outputs, 'through shared memory, native average');
  assert.deepEqual(calls, [2, 2], 'each rank averaged its chunk over both slots with averageSlots');
});

test('a start naming a segment for a worker that cannot map one is an error, not a silent fallback', () => {
  const p = new PeerReduce('auto', { d: 8, g: 8 }, () => silentLogger, undefined);
  assert.throws(() => p.roster(start(0, 2, 1, '/trainer-ab-g1')), /cannot map/);
});

test('a shared-memory all-reduce has one barrier and hands back the slots: one message to every other rank, the average formed as the ring forms it for 2 ranks', async () => {
  for (const world of [2, 3]) {
    const len = 333;
    const shm = fakeShm();
    const reducers = Array.from({ length: world }, () => new PeerReduce('shm', { d: len, g: len }, () => silentLogger, shm));
    reducers.forEach((p, r) => p.roster(start(r, world, 1, '/trainer-ab-g1')));
    const { inputs, outputs, results, messages } = await reduceAll(reducers, world, 7, len);
    for (const [r, a] of results.entries()) {
      assert.ok(!(a instanceof Float32Array), `rank ${r}: the slots, not an average`);
      assert.equal(a.parts.length, world);
      assert.equal(a.factor, 1 / world);
      assert.deepEqual(outputs[r], outputs[0], `world ${world}: every rank forms the same bits`);
    }
    assertAverages(inputs, outputs, `world ${world}`);
    assert.deepEqual(messages, Array.from({ length: world }, () => world - 1), 'one barrier: one message to every other rank');
    if (world === 2) assert.deepEqual(outputs[0], Float32Array.from(inputs[0]!, (x, i) => Math.fround(x + inputs[1]![i]!) * 0.5), 'the ring\'s (own + peer) × ½');
  }
});

test('gradients read back into nextSlot are all-reduced in place: the same averages over consecutive calls (both banks), the slot handed back is that memory', async () => {
  const world = 3;
  const len = 257;
  const shm = fakeShm();
  const reducers = Array.from({ length: world }, () => new PeerReduce('shm', { d: len, g: len - 6 }, () => silentLogger, shm));
  assert.equal(reducers[0]!.nextSlot(len), undefined, 'no segment before a generation names one');
  reducers.forEach((p, r) => p.roster(start(r, world, 1, '/trainer-ab-g1')));
  assert.equal(reducers[0]!.nextSlot(len + 1), undefined, 'more than a slot holds');
  const links = memoryPeers(world);
  for (let call = 0; call < 4; call++) {
    const n = call % 2 === 0 ? len : len - 6;
    const inputs = randomBuffers(world, n, 40 + call);
    // Ranks 0 and 2 read back into the slot the next reduce reads; rank 1 hands over a buffer of its own (copied there).
    const bufs = inputs.map((b, r) => {
      const into = r === 1 ? new Float32Array(n) : reducers[r]!.nextSlot(n)!;
      into.set(b);
      return into;
    });
    const results = await Promise.all(bufs.map((b, r) => reducers[r]!.reduce(b, r, world, links[r]!, call + 1, call % 2 === 0 ? 'd' : 'g', {})));
    const outputs = results.map((a) => Float32Array.from(averagedRange(a, 0, n)));
    assertAverages(inputs, outputs, `call ${call}`);
    for (const [r, a] of results.entries()) {
      assert.ok(!(a instanceof Float32Array));
      const own = a.parts[r]!;
      assert.ok(own.buffer === bufs[0]!.buffer, `call ${call} rank ${r}: its part lies in the segment`);
      if (r !== 1) assert.equal(own.byteOffset, bufs[r]!.byteOffset, `call ${call} rank ${r}: the all-reduce read the slot it was read back into`);
    }
  }
});
