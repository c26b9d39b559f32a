import type { PeerAlgorithm } from './costModel.js';
import { peerAllReduce } from './auto.js';
import { probeNetwork } from './probe.js';
import { DEFAULT_SEGMENT_ELEMENTS } from './ring.js';
import { type SimParams, simMakespan, simNetwork } from './simLink.js';

/** Floats per rank the simulation really moves: enough that chunks and segments scale exactly, few enough for 1024 ranks. */
export function simulatedLength(world: number, minElements = 65_536): number {
  const unit = world * 16;
  return unit * Math.ceil(minElements / unit);
}

/**
 * Simulated time of one all-reduce of `bytes` over `world` ranks: the real
 * algorithm on buffers of simulatedLength floats, each standing for
 * bytes / (4 · length) real ones, with the pipeline segment scaled alike.
 */
export async function simulateAllReduce(algorithm: PeerAlgorithm, world: number, bytes: number, net: Omit<SimParams, 'elementScale'>): Promise<number> {
  const length = simulatedLength(world);
  const elementScale = bytes / (length * Float32Array.BYTES_PER_ELEMENT);
  const segment = Math.max(1, Math.round(DEFAULT_SEGMENT_ELEMENTS / elementScale));
  const peers = simNetwork(world, { ...net, elementScale });
  await Promise.all(peers.map((p, r) => peerAllReduce(algorithm, new Float32Array(length), r, world, p, 1, 'd', segment)));
  return simMakespan(peers);
}

/** The start-up probe on a simulated network (unscaled: its messages are real sizes): α and β as auto would measure them, and how long it took. */
export async function simulateProbe(world: number, net: Omit<SimParams, 'elementScale'>): Promise<{ alphaS: number; betaBytesPerS: number; probeS: number }> {
  const peers = simNetwork(world, net);
  const results = await Promise.all(peers.map((p, r) => probeNetwork(p, r, world, () => p.now, 1, 'd')));
  return { ...results[0]!, probeS: simMakespan(peers) };
}
