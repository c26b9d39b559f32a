import { TimeoutError } from '../errors.js';
import { type ChunkTag, type RingLink, describeTag, sameTag } from './link.js';
import { type PeerLink, ringOverPeers } from './peerLink.js';
import { Mailbox } from '../mailbox.js';
import type { WireData } from './compression.js';
import type { BarrierGuard } from './segmentBarrier.js';

/**
 * In-process peers for tests and for the reference equivalence runs: one FIFO
 * per (receiver, sender). Zero-copy, like the ZeroMQ link but stricter: the
 * receiver reads the sender's memory only when it takes the message, so an
 * algorithm that rewrites a region its receiver has not yet consumed computes
 * wrong sums here. A message with another tag than the one awaited is an error.
 */
export function memoryPeers(world: number, timeoutMs = 5000): Array<PeerLink & BarrierGuard> {
  const boxes = Array.from({ length: world }, () => Array.from({ length: world }, () => new Mailbox<{ tag: ChunkTag; data: WireData }>()));
  return boxes.map((_, rank) => ({
    timeoutMs,
    assertLive: () => undefined, // nothing aborts an in-memory world
    async send(to, tag, data) {
      const box = boxes[to]?.[rank];
      if (!box) throw new RangeError(`rank ${rank}: no rank ${to} in a world of ${world}`);
      box.push({ tag, data });
    },
    async recv(from, tag) {
      const box = boxes[rank]![from];
      if (!box) throw new RangeError(`rank ${rank}: no rank ${from} in a world of ${world}`);
      const msg = await box.take(timeoutMs, () => new TimeoutError(`rank ${rank}: no ${describeTag(tag)} from rank ${from} within ${timeoutMs} ms`));
      if (!sameTag(msg.tag, tag)) throw new Error(`rank ${rank}: expected ${describeTag(tag)} from rank ${from}, got ${describeTag(msg.tag)}`);
      return msg.data;
    },
  }));
}

/** The in-memory peers as a ring (each rank's successor and predecessor). */
export function memoryRing(world: number, timeoutMs = 5000): RingLink[] {
  return memoryPeers(world, timeoutMs).map((link, rank) => ringOverPeers(link, rank, world));
}
