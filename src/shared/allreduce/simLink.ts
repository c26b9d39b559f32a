import type { WireData } from './compression.js';
import { TimeoutError } from '../errors.js';
import { type ChunkTag, describeTag, sameTag } from './link.js';
import type { PeerLink } from './peerLink.js';

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
  /** Real time without any message delivered, while receives wait, after which they fail naming the silent ranks (a simulated deadlock). */
  timeoutMs?: number;
}

interface SimMessage {
  tag: ChunkTag;
  data: WireData;
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
  const inbox = new SimInbox(world, timeoutMs);
  const bytesOf = (data: WireData): number => data.byteLength * scale;
  return Array.from({ length: world }, (_, rank) => {
    let now = 0;
    let outgoingFree = 0;
    return {
      get now() {
        return now;
      },
      advance(seconds: number) {
        now += seconds;
      },
      async send(to: number, tag: ChunkTag, data: WireData) {
        if (!(to >= 0 && to < world)) throw new RangeError(`rank ${rank}: no rank ${to} in a world of ${world}`);
        const transfer = bytesOf(data) / betaBytesPerS;
        const leaves = Math.max(now, outgoingFree);
        outgoingFree = leaves + transfer;
        inbox.push(to, rank, { tag, data, arrival: leaves + alphaS + transfer });
      },
      async recv(from: number, tag: ChunkTag) {
        if (!(from >= 0 && from < world)) throw new RangeError(`rank ${rank}: no rank ${from} in a world of ${world}`);
        const msg = await inbox.take(rank, from, () => new TimeoutError(`simulated rank ${rank}: no ${describeTag(tag)} from rank ${from}: nothing moved for ${timeoutMs} ms of real time`));
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

/**
 * The simulated network's queues, one per (receiver, sender), with one watchdog
 * for the whole network instead of a timer per receive (millions of them at
 * 1024 ranks): when receives wait and no message has been delivered for
 * `timeoutMs`, they all fail.
 */
class SimInbox {
  private readonly queues = new Map<number, SimMessage[]>();
  private readonly waiting = new Map<number, { resolve: (m: SimMessage) => void; reject: (e: Error) => void; onTimeout: () => Error }>();
  private watchdog: NodeJS.Timeout | undefined;
  private moved = false;

  constructor(private readonly world: number, private readonly timeoutMs: number) {}

  push(to: number, from: number, msg: SimMessage): void {
    const key = to * this.world + from;
    this.moved = true;
    const w = this.waiting.get(key);
    if (w) {
      this.waiting.delete(key);
      if (this.waiting.size === 0) this.disarm();
      w.resolve(msg);
      return;
    }
    const q = this.queues.get(key);
    if (q) q.push(msg);
    else this.queues.set(key, [msg]);
  }

  take(to: number, from: number, onTimeout: () => Error): Promise<SimMessage> {
    const key = to * this.world + from;
    const q = this.queues.get(key);
    if (q && q.length > 0) {
      const msg = q.shift()!;
      if (q.length === 0) this.queues.delete(key);
      return Promise.resolve(msg);
    }
    if (this.waiting.has(key)) return Promise.reject(new Error(`simulated rank ${to} already waits for rank ${from}`));
    return new Promise((resolve, reject) => {
      this.waiting.set(key, { resolve, reject, onTimeout });
      this.arm();
    });
  }

  private arm(): void {
    if (this.watchdog) return;
    this.moved = false;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (this.waiting.size === 0) return;
      if (this.moved) {
        this.arm();
        return;
      }
      for (const w of this.waiting.values()) w.reject(w.onTimeout());
      this.waiting.clear();
    }, this.timeoutMs);
  }

  /** Nobody waits: nothing can deadlock, and an idle timer must not keep the process alive. */
  private disarm(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }
}
