import type { Phase } from '../protocol.js';
import { type NetworkModel, type PeerAlgorithm, chooseAlgorithm } from './costModel.js';
import { halvingDoublingAllReduce } from './halvingDoubling.js';
import { type PeerLink, ringOverPeers } from './peerLink.js';
import { DEFAULT_PROBE, type ProbePlan, offsetSequence, probeMessages, probeNetwork } from './probe.js';
import { DEFAULT_SEGMENT_ELEMENTS, type RingTimes, ringAllReduce } from './ring.js';

/** What --allreduce auto chose for a generation, and from what. */
export interface AutoChoice {
  world: number;
  alphaS: number;
  betaBytesPerS: number;
  /** The algorithm per phase (the phases reduce buffers of different sizes), with the model's cost of each. */
  phases: Record<Phase, { algorithm: PeerAlgorithm; floats: number; ringS: number; rhdS: number }>;
}

/** The choice for buffers of `lengths` floats over `world` ranks on network `net`: a pure function, so ranks with the same inputs agree. */
export function chooseForLengths(lengths: Record<Phase, number>, world: number, net: NetworkModel): AutoChoice {
  const phase = (floats: number): AutoChoice['phases'][Phase] => ({ floats, ...chooseAlgorithm(world, floats * Float32Array.BYTES_PER_ELEMENT, net) });
  return { world, alphaS: net.alphaS, betaBytesPerS: net.betaBytesPerS, phases: { d: phase(lengths.d), g: phase(lengths.g) } };
}

/** Runs `algorithm` over a peer link (the ring over the ring it contains). */
export function peerAllReduce(algorithm: PeerAlgorithm, buf: Float32Array, rank: number, world: number, link: PeerLink, step: number, phase: Phase, segmentElements = DEFAULT_SEGMENT_ELEMENTS, times?: RingTimes): Promise<Float32Array> {
  return algorithm === 'ring'
    ? ringAllReduce(buf, rank, world, ringOverPeers(link, rank, world), step, phase, segmentElements, times)
    : halvingDoublingAllReduce(buf, rank, world, link, step, phase, segmentElements, times);
}

/**
 * --allreduce auto: the first all-reduce of each generation starts with a
 * ping-pong between neighbours (probe.ts), whose α and β every rank receives
 * with the same bits; each phase then runs the algorithm the α-β model finds
 * cheaper for its size, until the next generation.
 */
export class AutoAllreduce {
  private choice: AutoChoice | undefined;

  constructor(
    private readonly lengths: Record<Phase, number>,
    private readonly now: () => number,
    private readonly onChoice: (choice: AutoChoice) => void,
    private readonly plan: ProbePlan = DEFAULT_PROBE,
  ) {}

  /** A new generation (another world, other neighbours): probe again before its first all-reduce. */
  begin(): void {
    this.choice = undefined;
  }

  get current(): AutoChoice | undefined {
    return this.choice;
  }

  async reduce(buf: Float32Array, rank: number, world: number, link: PeerLink, step: number, phase: Phase, segmentElements = DEFAULT_SEGMENT_ELEMENTS, times?: RingTimes): Promise<Float32Array> {
    if (world === 1) return buf;
    let after = link;
    if (!this.choice || this.choice.world !== world) {
      const net = await probeNetwork(link, rank, world, this.now, step, phase, this.plan);
      this.choice = chooseForLengths(this.lengths, world, net);
      this.onChoice(this.choice);
      after = offsetSequence(link, probeMessages(this.plan, world));
    }
    return peerAllReduce(this.choice.phases[phase].algorithm, buf, rank, world, after, step, phase, segmentElements, times);
  }
}
