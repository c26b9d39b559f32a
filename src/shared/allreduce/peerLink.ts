import type { ChunkTag, RingLink } from './link.js';
import type { WireData } from './compression.js';

/**
 * The contract between a peer-to-peer algorithm (halving-doubling, whose partner
 * changes every round) and a transport: send to rank r, receive from rank r.
 *
 * - Messages from one rank to another arrive in the order they were sent.
 * - A receiver may tell messages apart by tag alone (the ZeroMQ link does): in one
 *   collective, every message a rank receives carries its own tag.
 * - Zero-copy, as RingLink: a caller may rewrite a region it sent only once it has
 *   received a message that could not exist unless the receiver had taken it.
 * - recv rejects (naming `from`) when the message does not arrive in time.
 */
export interface PeerLink {
  send(to: number, tag: ChunkTag, data: WireData): Promise<void>;
  recv(from: number, tag: ChunkTag): Promise<WireData>;
}

/** The directed ring a peer link contains: send to rank+1, receive from rank-1. The ring algorithm runs on it unchanged. */
export function ringOverPeers(link: PeerLink, rank: number, world: number): RingLink {
  const next = (rank + 1) % world;
  const prev = (rank - 1 + world) % world;
  return {
    sendNext: (tag, data) => link.send(next, tag, data),
    recvPrev: (tag) => link.recv(prev, tag),
  };
}
