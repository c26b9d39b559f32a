import { halvingDoublingPlan } from './halvingDoublingPlan.js';

/** A network in the α-β-γ model. */
export interface NetworkModel {
  /** Per-message latency, seconds. */
  alphaS: number;
  /** Link bandwidth, bytes per second. */
  betaBytesPerS: number;
  /** Reduction cost per byte received, seconds (0: ignored). */
  gammaSPerByte?: number;
}

export type PeerAlgorithm = 'ring' | 'rhd';

/**
 * The ring's cost for `bytes` over `world` ranks, unpipelined: 2(N−1) rounds,
 * each one message of n/N bytes: 2(N−1)(α + n/(Nβ) + nγ/N). The pipelined ring
 * can only do better (segments overlap).
 */
export function ringCost(world: number, bytes: number, net: NetworkModel): number {
  if (world <= 1) return 0;
  const chunk = bytes / world;
  return 2 * (world - 1) * (net.alphaS + chunk / net.betaBytesPerS + chunk * (net.gammaSPerByte ?? 0));
}

/**
 * Halving-doubling's cost: 2·log2 p rounds moving n/2, n/4, … n/p bytes
 * (2 log2 p · α + 2(p−1)/p · n(1/β + γ)), plus, when N is not a power of two,
 * the fold and unfold: two more rounds of the whole buffer.
 */
export function halvingDoublingCost(world: number, bytes: number, net: NetworkModel): number {
  if (world <= 1) return 0;
  const { p, levels, excess } = halvingDoublingPlan(world);
  const perByte = 1 / net.betaBytesPerS + (net.gammaSPerByte ?? 0);
  const core = 2 * levels * net.alphaS + 2 * ((p - 1) / p) * bytes * perByte;
  return core + (excess > 0 ? 2 * (net.alphaS + bytes * perByte) : 0);
}

/**
 * What no all-reduce can beat in the α-β model: ⌈log2 N⌉ message latencies (a
 * value reaches N ranks by doubling at best) and 2(N−1)/N · n bytes through
 * each rank's link (Chan et al., 2007).
 */
export function allreduceLowerBound(world: number, bytes: number, net: NetworkModel): number {
  if (world <= 1) return 0;
  return Math.ceil(Math.log2(world)) * net.alphaS + (2 * (world - 1) / world) * bytes / net.betaBytesPerS;
}

/** The cheaper algorithm by the model (ties go to the ring, the long-tested default), with both costs. */
export function chooseAlgorithm(world: number, bytes: number, net: NetworkModel): { algorithm: PeerAlgorithm; ringS: number; rhdS: number } {
  const ringS = ringCost(world, bytes, net);
  const rhdS = halvingDoublingCost(world, bytes, net);
  return { algorithm: rhdS < ringS ? 'rhd' : 'ring', ringS, rhdS };
}
