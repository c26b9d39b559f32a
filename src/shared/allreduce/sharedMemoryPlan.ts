/**
 * The messages of a shared-memory all-reduce (sharedMemoryReduce.ts): one
 * barrier, in which every rank sends one empty message to every other.
 * Apart from the reducer so that the link's admission rule (link.ts) can know
 * them without importing the algorithm.
 */

/** A segment's name: "/trainer-RUN-gGEN", RUN the coordinator's token for the run (hex). */
export const SEGMENT_NAME = /^\/trainer-[0-9a-f]{1,64}-g[0-9]{1,9}$/;

/** The segment of generation `gen` of the run `run`: a fresh one per generation, so a new roster never reads an old one's bytes. */
export function segmentName(run: string, gen: number): string {
  return `/trainer-${run}-g${gen}`;
}

/** The sequence number of the message `sender` sends in the barrier: unique per receiver in one collective, as PeerLink asks. */
export function barrierSeq(sender: number): number {
  return sender;
}

/** How many sequence numbers and floats one shared-memory all-reduce's messages use. */
export function sharedMemoryLimits(world: number): { count: number; elements: number } {
  return { count: world, elements: 0 };
}
