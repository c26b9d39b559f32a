import { TimeoutError } from '../errors.js';
import { type ChunkTag, describeTag, sameTag } from './link.js';
import type { PeerLink } from './peerLink.js';
import { Mailbox } from '../mailbox.js';

/** The time model of a simulated network (the α-β-γ model). */
export interface SimParams {
  /** Per-message latency α, seconds. */
  alphaS: number;
  /** Link bandwidth β, bytes per second (each rank sends and receives at this rate at once: full duplex). */
  betaBytesPerS: number;
  /** Per-rank reduction cost γ, seconds per byte received (an add in reduce-scatter, a copy in all-gather: both charged). */
  gammaSPerByte: number;
  /**
   * Real floats each simulated float stands for (default 1): the algorithm runs
   * on a buffer `elementScale` times shorter than the gradient it models, so a
   * 64 MB all-reduce over 1024 ranks fits in memory. Chunk sizes scale exactly
   * when the rank count divides the buffer length.
   */
  elementScale?: number;
  /** Real-time limit on one receive: a simulated deadlock becomes an error naming the silent rank. */
  timeoutMs?: number;
}

interface SimMessage {
  tag: ChunkTag;
  data: Float32Array;
  /** Simulated time at which its last byte has arrived. */
  arrival: number;
}

/** One rank's end of a simulated network: a PeerLink with a simulated clock. */
export interface SimPeer extends PeerLink {
  /** This rank's simulated time, seconds. */
  readonly now: number;
  /** Advances this rank's clock (work between messages, such as a probe's echo). */
  advance(seconds: number): void;
}

/**
 * A network of `world` simulated ranks in one process, driving the real
 * all-reduce code. Time is simulated, not measured: every rank keeps its own
 * clock, and every message carries the simulated time its last byte arrives.
 * A send leaves when the sender's outgoing link is free (sends from one rank
 * are serialized at β) and arrives α plus its transfer time later; a receive
 * moves the receiver's clock to the later of its own time and the arrival, plus
 * γ per byte. Because every receive names its sender and tag, each rank's clock
 * depends only on the messages it gets, never on the order in which the event
 * loop happens to run the ranks: the result is that of a discrete-event
 * simulation, without a global event queue. Not modelled: contention at a
 * receiver when several peers send to it at once (ring and halving-doubling
 * receive from one peer per round), and the switch fabric.
 */
export function simNetwork(world: number, params: SimParams): SimPeer[] {
  const { alphaS, betaBytesPerS, gammaSPerByte } = params;
  const scale = params.elementScale ?? 1;
  const timeoutMs = params.timeoutMs ?? 60_000;
  if (!(alphaS >= 0 && betaBytesPerS > 0 && gammaSPerByte >= 0 && scale > 0)) throw new RangeError(`simulated network needs α ≥ 0, β > 0, γ ≥ 0 and a positive element scale, got ${JSON.stringify(params)}`);
  const boxes = Array.from({ length: world }, () => Array.from({ length: world }, () => new Mailbox<SimMessage>()));
  const bytesOf = (data: Float32Array): number => data.length * Float32Array.BYTES_PER_ELEMENT * scale;
  return boxes.map((_, rank) => {
    let now = 0;
    let outgoingFree = 0;
    return {
      get now() {
        return now;
      },
      advance(seconds: number) {
        now += seconds;
      },
      async send(to: number, tag: ChunkTag, data: Float32Array) {
        const box = boxes[to]?.[rank];
        if (!box) throw new RangeError(`rank ${rank}: no rank ${to} in a world of ${world}`);
        const transfer = bytesOf(data) / betaBytesPerS;
        const leaves = Math.max(now, outgoingFree);
        outgoingFree = leaves + transfer;
        box.push({ tag, data, arrival: leaves + alphaS + transfer });
      },
      async recv(from: number, tag: ChunkTag) {
        const box = boxes[rank]![from];
        if (!box) throw new RangeError(`rank ${rank}: no rank ${from} in a world of ${world}`);
        const msg = await box.take(timeoutMs, () => new TimeoutError(`simulated rank ${rank}: no ${describeTag(tag)} from rank ${from} within ${timeoutMs} ms of real time`));
        if (!sameTag(msg.tag, tag)) throw new Error(`simulated rank ${rank}: expected ${describeTag(tag)} from rank ${from}, got ${describeTag(msg.tag)}`);
        now = Math.max(now, msg.arrival) + bytesOf(msg.data) * gammaSPerByte;
        return msg.data;
      },
    };
  });
}

/** When the collective ended: the latest clock of any rank. */
export function simMakespan(peers: readonly SimPeer[]): number {
  return peers.reduce((t, p) => Math.max(t, p.now), 0);
}
