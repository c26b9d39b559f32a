import type { Phase } from '../protocol.js';

/** Identifies one transfer of one collective, so a stray or late chunk is never mistaken for the expected one. */
export interface ChunkTag {
  step: number;
  phase: Phase;
  seq: number;
}

/**
 * The contract between the ring algorithm and a transport: a directed ring where
 * each rank sends to its successor and receives from its predecessor. Messages
 * from the predecessor arrive in the order they were sent.
 */
export interface RingLink {
  /**
   * Sends `data`, possibly without copying it: the transport may read the bytes
   * until the successor has them. Sends leave in call order, and many may be in
   * flight. A caller may rewrite the region only once it has received a message
   * that could not exist unless the successor had already taken this one.
   */
  sendNext(tag: ChunkTag, data: Float32Array): Promise<void>;
  /** The next chunk from the predecessor; rejects if its tag differs from `tag` or it does not arrive in time. */
  recvPrev(tag: ChunkTag): Promise<Float32Array>;
}

export function sameTag(a: ChunkTag, b: ChunkTag): boolean {
  return a.step === b.step && a.phase === b.phase && a.seq === b.seq;
}

export function describeTag(t: ChunkTag): string {
  return `step ${t.step} phase ${t.phase} chunk ${t.seq}`;
}
