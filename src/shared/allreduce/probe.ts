import type { Phase } from '../protocol.js';
import type { ChunkTag } from './link.js';
import { type PeerLink, ringOverPeers } from './peerLink.js';
import { ringAllReduce } from './ring.js';

/** The start-up ping-pong: round trips of a one-float message (latency) and of a larger one (bandwidth). */
export interface ProbePlan {
  smallRounds: number;
  largeRounds: number;
  /** Floats in the large message. */
  largeElements: number;
}

export const DEFAULT_PROBE: ProbePlan = { smallRounds: 8, largeRounds: 3, largeElements: 65_536 };

/** Messages one rank can receive in a probe of `world` ranks at most (the chunk admission rule reserves them). */
export function probeMessages(plan: ProbePlan, maxWorld: number): number {
  return plan.smallRounds + plan.largeRounds + 2 * Math.max(0, maxWorld - 1);
}

export interface ProbeResult {
  alphaS: number;
  betaBytesPerS: number;
}

/**
 * Measures α and β by ping-pong between neighbours: ranks 2i and 2i+1 pair up
 * (the last of an odd world sits out); the even rank times the shortest round
 * trip of a one-float message (2α) and of a large one (2α + 2·bytes/β). The
 * pairs' figures are then averaged with a ring all-reduce, so every rank gets
 * the same bits and, from them, makes the same choice. `now` is seconds: real
 * time on a real link, the simulated clock on a simulated one. Tags are step
 * `step`, phase `phase`, sequence numbers 0..probeMessages−1.
 */
export async function probeNetwork(link: PeerLink, rank: number, world: number, now: () => number, step: number, phase: Phase, plan: ProbePlan = DEFAULT_PROBE): Promise<ProbeResult> {
  const partner = rank ^ 1;
  const tag = (seq: number): ChunkTag => ({ step, phase, seq });
  const measured = new Float32Array(3);
  if (partner < world) {
    const small = new Float32Array(1);
    const large = new Float32Array(plan.largeElements);
    const shortest = async (rounds: number, first: number, data: Float32Array): Promise<number> => {
      let best = Infinity;
      for (let i = 0; i < rounds; i++) {
        if (rank % 2 === 0) {
          const t0 = now();
          await link.send(partner, tag(first + i), data);
          await link.recv(partner, tag(first + i));
          best = Math.min(best, now() - t0);
        } else {
          // Echo: send back what arrived (the initiator does not touch it meanwhile).
          await link.send(partner, tag(first + i), await link.recv(partner, tag(first + i)));
        }
      }
      return best;
    };
    const smallRtt = await shortest(plan.smallRounds, 0, small);
    const largeRtt = await shortest(plan.largeRounds, plan.smallRounds, large);
    if (rank % 2 === 0) {
      const alpha = Math.max(0, smallRtt / 2);
      // Seconds per byte; a large message no slower than a small one (a timer too coarse) counts as a very fast link.
      const perByte = Math.max(1e-13, (largeRtt - smallRtt) / 2 / large.byteLength);
      measured.set([alpha, perByte, 1]);
    }
  }
  const first = plan.smallRounds + plan.largeRounds;
  await ringAllReduce(measured, rank, world, ringOverPeers(offsetSequence(link, first), rank, world), step, phase);
  const [alpha, perByte, pairs] = measured as unknown as [number, number, number];
  return { alphaS: alpha / pairs, betaBytesPerS: pairs / perByte };
}

/** The link with every sequence number moved up by `offset` (an all-reduce after the probe's messages). */
export function offsetSequence(link: PeerLink, offset: number): PeerLink {
  return { send: (to, t, d) => link.send(to, { ...t, seq: t.seq + offset }, d), recv: (from, t) => link.recv(from, { ...t, seq: t.seq + offset }) };
}
