/**
 * The messages of a shared-memory all-reduce (sharedMemoryReduce.ts): two
 * barriers, in each of which every rank sends one empty message to every other.
 * Apart from the reducer so that the link's admission rule (link.ts) can know
 * them without importing the algorithm.
 */

/** The sequence number of the message `sender` sends in barrier `round`: unique per receiver in one collective, as PeerLink asks. */
export function barrierSeq(round: 0 | 1, world: number, sender: number): number {
  return round * world + sender;
}

/** How many sequence numbers and floats one shared-memory all-reduce's messages use. */
export function sharedMemoryLimits(world: number): { count: number; elements: number } {
  return { count: 2 * world, elements: 0 };
}
