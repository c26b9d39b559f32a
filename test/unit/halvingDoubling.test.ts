import assert from 'node:assert/strict';
import { test } from 'node:test';
import { halvingDoublingAllReduce, virtualRank } from '../../src/shared/allreduce/halvingDoubling.js';
import { halvingDoublingLimits, halvingDoublingPlan } from '../../src/shared/allreduce/halvingDoublingPlan.js';
import { memoryPeers } from '../../src/shared/allreduce/memoryLink.js';
import type { PeerLink } from '../../src/shared/allreduce/peerLink.js';
import { chunkRefusal } from '../../src/shared/allreduce/link.js';
import { TimeoutError } from '../../src/shared/errors.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';

const LENGTHS = [0, 1, 2, 7, 13, 1001];

test('halving-doubling over the in-memory link equals the naive average with identical bits on every rank, N = 1..9, odd lengths, any segment size', async () => {
  for (let world = 1; world <= 9; world++) {
    for (const len of LENGTHS) {
      for (const segment of [1, 3, undefined]) {
        const inputs = randomBuffers(world, len, world * 1000 + len);
        const bufs = inputs.map((b) => Float32Array.from(b));
        const links = memoryPeers(world);
        await Promise.all(bufs.map((b, r) => halvingDoublingAllReduce(b, r, world, links[r]!, 1, 'd', segment)));
        const what = `world ${world} length ${len} segment ${segment ?? 'default'}`;
        assertAverages(inputs, bufs, what);
        for (const b of bufs) assert.deepEqual(b, bufs[0], `every rank ends with identical bits (${what})`);
      }
    }
  }
});

test('halving-doubling plan: the largest power of two halves and doubles, the first 2(N−p) ranks fold in pairs', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 7, 8, 9, 1024, 1500].map((n) => halvingDoublingPlan(n)), [
    { p: 1, levels: 0, excess: 0 }, { p: 2, levels: 1, excess: 0 }, { p: 2, levels: 1, excess: 1 }, { p: 4, levels: 2, excess: 0 },
    { p: 4, levels: 2, excess: 1 }, { p: 4, levels: 2, excess: 3 }, { p: 8, levels: 3, excess: 0 }, { p: 8, levels: 3, excess: 1 },
    { p: 1024, levels: 10, excess: 0 }, { p: 1024, levels: 10, excess: 476 },
  ]);
  // N = 7: ranks 0, 2, 4 fold into 1, 3, 5; 1, 3, 5, 6 halve and double as 0, 1, 2, 3.
  assert.deepEqual(Array.from({ length: 7 }, (_, r) => virtualRank(r, 3)), [undefined, 0, undefined, 1, undefined, 2, 3]);
  assert.throws(() => halvingDoublingPlan(0), /positive integer/);
});

/** A link that records what each rank receives (sequence numbers and sizes). */
function spied(links: PeerLink[], seen: { seq: number; elements: number }[]): PeerLink[] {
  return links.map((l) => ({
    send: (to, tag, data) => l.send(to, tag, data),
    recv: async (from, tag) => {
      const data = await l.recv(from, tag);
      seen.push({ seq: tag.seq, elements: data.length });
      return data;
    },
  }));
}

test('halving-doubling sends only sequence numbers and sizes that the chunk admission rule of the ZeroMQ link admits', async () => {
  for (const world of [2, 3, 5, 6, 8]) {
    for (const len of [7, 1001]) {
      const segment = 100;
      const seen: { seq: number; elements: number }[] = [];
      const links = spied(memoryPeers(world), seen);
      await Promise.all(randomBuffers(world, len, 3).map((b, r) => halvingDoublingAllReduce(b, r, world, links[r]!, 1, 'g', segment)));
      const { count, elements } = halvingDoublingLimits(len, world, segment);
      assert.ok(seen.length > 0);
      for (const s of seen) {
        assert.ok(s.seq < count && s.elements <= elements, `world ${world} length ${len}: chunk ${s.seq} of ${s.elements} floats (limits ${count}, ${elements})`);
        const layout = { lengths: { d: len, g: len }, segmentElements: segment, maxWorld: world, peerToPeer: true };
        assert.equal(chunkRefusal({ gen: 1, step: 1, phase: 'g', seq: s.seq, elements: s.elements }, { gen: 1, world, lastTaken: undefined, stepsDone: 0 }, layout, 0), undefined);
      }
      // The ring-only rule refuses the fold's larger messages (so the flag matters).
      if (world === 3 && len === 1001) {
        const ringOnly = { lengths: { d: len, g: len }, segmentElements: segment, maxWorld: world };
        assert.ok(seen.some((s) => chunkRefusal({ gen: 1, step: 1, phase: 'g', seq: s.seq, elements: s.elements }, { gen: 1, world, lastTaken: undefined, stepsDone: 0 }, ringOnly, 0) !== undefined));
      }
    }
  }
});

test('a halving-doubling partner that never sends times out with the silent rank named', async () => {
  const links = memoryPeers(4, 50);
  // Rank 0's first partner (distance 2) is rank 2, which never takes part.
  const r0 = halvingDoublingAllReduce(new Float32Array(8), 0, 4, links[0]!, 1, 'd');
  await assert.rejects(r0, (e: unknown) => e instanceof TimeoutError && /from rank 2\b/.test(e.message));
});
