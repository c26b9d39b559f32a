import { TimeoutError } from '../errors.js';
import { type ChunkTag, type RingLink, describeTag, sameTag } from './link.js';
import { Mailbox } from '../mailbox.js';

/** In-process ring for tests and for the reference equivalence runs. */
export function memoryRing(world: number, timeoutMs = 5000): RingLink[] {
  const boxes = Array.from({ length: world }, () => new Mailbox<{ tag: ChunkTag; data: Float32Array }>());
  return boxes.map((_, rank) => ({
    async sendNext(tag, data) {
      boxes[(rank + 1) % world]!.push({ tag, data: Float32Array.from(data) });
    },
    async recvPrev(tag) {
      const msg = await boxes[rank]!.take(timeoutMs, () => new TimeoutError(`rank ${rank}: no ${describeTag(tag)} from rank ${(rank - 1 + world) % world} within ${timeoutMs} ms`));
      if (!sameTag(msg.tag, tag)) throw new Error(`rank ${rank}: expected ${describeTag(tag)}, got ${describeTag(msg.tag)}`);
      return msg.data;
    },
  }));
}
