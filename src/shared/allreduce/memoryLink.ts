import { TimeoutError } from '../errors.js';
import { type ChunkTag, type RingLink, describeTag, sameTag } from './link.js';
import { Mailbox } from '../mailbox.js';
import type { WireData } from './compression.js';

/**
 * In-process ring for tests and for the reference equivalence runs. Zero-copy,
 * like the ZeroMQ link but stricter: the receiver reads the sender's memory only
 * when it takes the message, so an algorithm that rewrites a region its
 * successor has not yet consumed computes wrong sums here.
 */
export function memoryRing(world: number, timeoutMs = 5000): RingLink[] {
  const boxes = Array.from({ length: world }, () => new Mailbox<{ tag: ChunkTag; data: WireData }>());
  return boxes.map((_, rank) => ({
    async sendNext(tag, data) {
      boxes[(rank + 1) % world]!.push({ tag, data });
    },
    async recvPrev(tag) {
      const msg = await boxes[rank]!.take(timeoutMs, () => new TimeoutError(`rank ${rank}: no ${describeTag(tag)} from rank ${(rank - 1 + world) % world} within ${timeoutMs} ms`));
      if (!sameTag(msg.tag, tag)) throw new Error(`rank ${rank}: expected ${describeTag(tag)}, got ${describeTag(msg.tag)}`);
      return msg.data;
    },
  }));
}
