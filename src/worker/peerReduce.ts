import type { AllreduceMode } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import type { AllreduceChoice, Phase, Start } from '../shared/protocol.js';
import { type AutoChoice, AutoAllreduce } from '../shared/allreduce/auto.js';
import type { WireCodec } from '../shared/allreduce/compression.js';
import { halvingDoublingAllReduce } from '../shared/allreduce/halvingDoubling.js';
import type { RingLayout } from '../shared/allreduce/link.js';
import { type PeerLink, ringOverPeers } from '../shared/allreduce/peerLink.js';
import { DEFAULT_PROBE, probeMessages } from '../shared/allreduce/probe.js';
import { DEFAULT_SEGMENT_ELEMENTS, type RingTimes, ringAllReduce } from '../shared/allreduce/ring.js';
import { type SharedMemoryAddon, SharedMemoryGeneration } from '../shared/transport/sharedMemory.js';
import type { BarrierGuard, BarrierWordAddon } from '../shared/allreduce/segmentBarrier.js';
import type { Averaged } from '../shared/allreduce/averaged.js';

/** One line for the log: what auto measured and chose. */
export function describeChoice(c: AutoChoice): string {
  const phase = (p: Phase): string => {
    const x = c.phases[p];
    return `${x.algorithm} for ${p} (${x.floats} floats: ring ${(x.ringS * 1e3).toFixed(3)} ms, rhd ${(x.rhdS * 1e3).toFixed(3)} ms by the model)`;
  };
  return `all-reduce auto over ${c.world} ranks: α ${(c.alphaS * 1e6).toFixed(1)} µs, β ${(c.betaBytesPerS * 8 / 1e9).toFixed(2)} Gbit/s measured between neighbours; ${phase('d')}, ${phase('g')}`;
}

/**
 * The worker's peer-to-peer all-reduces (--allreduce rhd, auto and shm): what
 * the ring link must admit, the roster it needs, and the choice to report. A
 * generation whose start names a shared-memory segment (every rank on this
 * host, shm or auto) all-reduces through it; otherwise shm runs the ring over
 * the links. The training loop only passes its link through.
 */
export class PeerReduce {
  private readonly auto: AutoAllreduce | undefined;
  private unreported: AllreduceChoice | undefined;
  private shared: SharedMemoryGeneration | undefined;

  /** `sharedMemory`: the addon's shared memory where it maps here; `codec`: --compression on the links (shared memory carries float32); `barrierWord`: barriers in the segment instead of messages. */
  constructor(readonly mode: AllreduceMode, private readonly lengths: Record<Phase, number>, private readonly logger: () => Logger, private readonly sharedMemory?: SharedMemoryAddon, private readonly codec?: WireCodec, private readonly barrierWord?: BarrierWordAddon) {
    this.auto = mode === 'auto' ? new AutoAllreduce(lengths, () => performance.now() / 1000, (c) => {
      logger().log('info', describeChoice(c), { allreduce: c.phases.d.algorithm, allreduceG: c.phases.g.algorithm, alphaS: c.alphaS, betaBytesPerS: c.betaBytesPerS });
      this.unreported = { alphaS: c.alphaS, betaBytesPerS: c.betaBytesPerS, d: c.phases.d.algorithm, g: c.phases.g.algorithm };
    }) : undefined;
  }

  /** Whether the link must reach every rank of the roster (not only the successor). */
  get peerToPeer(): boolean {
    return this.mode === 'rhd' || this.mode === 'auto' || this.mode === 'shm';
  }

  /** What the ring link must admit besides the ring's own chunks. */
  layout(maxWorld: number, segmentElements = DEFAULT_SEGMENT_ELEMENTS): RingLayout {
    return {
      lengths: this.lengths, segmentElements, maxWorld, peerToPeer: this.peerToPeer,
      ...(this.mode === 'auto' || this.mode === 'shm' ? { sharedMemory: true } : {}),
      ...(this.auto ? { probe: { messages: probeMessages(DEFAULT_PROBE, maxWorld), elements: DEFAULT_PROBE.largeElements } } : {}),
    };
  }

  /**
   * A new generation: maps its shared-memory segment if the start names one,
   * and returns the roster's endpoints and keys for ZmqRingLink.roster(); auto
   * probes again.
   */
  roster(start: Start): Array<{ endpoint: string; key?: string | undefined }> {
    this.auto?.begin();
    this.shared?.unlink(); // an aborted generation may not have got past its first barrier
    this.shared = undefined;
    if (start.sharedMemory !== undefined) {
      // The coordinator names a segment only when this worker said it can map one.
      if (!this.sharedMemory) throw new Error(`generation ${start.gen} all-reduces through shared memory, which this worker cannot map`);
      this.shared = new SharedMemoryGeneration(this.sharedMemory, start.sharedMemory, start.rank, start.world, Math.max(this.lengths.d, this.lengths.g), this.logger(), this.barrierWord);
    }
    return start.ring.map((endpoint, i) => ({ endpoint, key: start.ringKeys?.[i] }));
  }

  /** Whether this generation all-reduces through a shared-memory segment (no gradient bytes on the links). */
  get sharedMemoryInUse(): boolean {
    return this.shared !== undefined;
  }

  reduce(buf: Float32Array, rank: number, world: number, link: PeerLink & BarrierGuard, step: number, phase: Phase, times: RingTimes): Promise<Averaged> {
    if (this.shared) return this.shared.reduce(buf, link, step, phase, times);
    if (this.auto) return this.auto.reduce(buf, rank, world, link, step, phase, DEFAULT_SEGMENT_ELEMENTS, times);
    if (this.mode === 'shm') return ringAllReduce(buf, rank, world, ringOverPeers(link, rank, world), step, phase, DEFAULT_SEGMENT_ELEMENTS, times, this.codec);
    return halvingDoublingAllReduce(buf, rank, world, link, step, phase, DEFAULT_SEGMENT_ELEMENTS, times);
  }

  /** Where the next reduce() reads `length` floats from, when this generation all-reduces through shared memory (SharedMemoryGeneration.nextSlot). */
  nextSlot(length: number): Float32Array | undefined {
    return this.shared?.nextSlot(length);
  }

  /** The choice made since the last step report, once (for summary.json). */
  takeReport(): { allreduceChoice?: AllreduceChoice } {
    const c = this.unreported;
    this.unreported = undefined;
    return c ? { allreduceChoice: c } : {};
  }

  /** Leaves nothing named in /dev/shm (a run that ended before a generation's first barrier). */
  close(): void {
    this.shared?.unlink();
  }
}
