import type { AllreduceMode } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import type { AllreduceChoice, Phase, Start } from '../shared/protocol.js';
import { type AutoChoice, AutoAllreduce } from '../shared/allreduce/auto.js';
import { halvingDoublingAllReduce } from '../shared/allreduce/halvingDoubling.js';
import type { RingLayout } from '../shared/allreduce/link.js';
import type { PeerLink } from '../shared/allreduce/peerLink.js';
import { DEFAULT_PROBE, probeMessages } from '../shared/allreduce/probe.js';
import { DEFAULT_SEGMENT_ELEMENTS, type RingTimes } from '../shared/allreduce/ring.js';

/** One line for the log: what auto measured and chose. */
export function describeChoice(c: AutoChoice): string {
  const phase = (p: Phase): string => {
    const x = c.phases[p];
    return `${x.algorithm} for ${p} (${x.floats} floats: ring ${(x.ringS * 1e3).toFixed(3)} ms, rhd ${(x.rhdS * 1e3).toFixed(3)} ms by the model)`;
  };
  return `all-reduce auto over ${c.world} ranks: α ${(c.alphaS * 1e6).toFixed(1)} µs, β ${(c.betaBytesPerS * 8 / 1e9).toFixed(2)} Gbit/s measured between neighbours; ${phase('d')}, ${phase('g')}`;
}

/**
 * The worker's peer-to-peer all-reduces (--allreduce rhd and auto): what the
 * ring link must admit, the roster it needs, and the choice to report. The
 * training loop only passes its link through.
 */
export class PeerReduce {
  private readonly auto: AutoAllreduce | undefined;
  private unreported: AllreduceChoice | undefined;

  constructor(readonly mode: AllreduceMode, private readonly lengths: Record<Phase, number>, logger: () => Logger) {
    this.auto = mode === 'auto' ? new AutoAllreduce(lengths, () => performance.now() / 1000, (c) => {
      logger().log('info', describeChoice(c), { allreduce: c.phases.d.algorithm, allreduceG: c.phases.g.algorithm, alphaS: c.alphaS, betaBytesPerS: c.betaBytesPerS });
      this.unreported = { alphaS: c.alphaS, betaBytesPerS: c.betaBytesPerS, d: c.phases.d.algorithm, g: c.phases.g.algorithm };
    }) : undefined;
  }

  /** Whether the link must reach every rank of the roster (not only the successor). */
  get peerToPeer(): boolean {
    return this.mode === 'rhd' || this.mode === 'auto';
  }

  /** What the ring link must admit besides the ring's own chunks. */
  layout(maxWorld: number, segmentElements = DEFAULT_SEGMENT_ELEMENTS): RingLayout {
    return {
      lengths: this.lengths, segmentElements, maxWorld, peerToPeer: this.peerToPeer,
      ...(this.auto ? { probe: { messages: probeMessages(DEFAULT_PROBE, maxWorld), elements: DEFAULT_PROBE.largeElements } } : {}),
    };
  }

  /** The roster's endpoints and keys, for ZmqRingLink.roster(); a new generation probes again. */
  roster(start: Start): Array<{ endpoint: string; key?: string | undefined }> {
    this.auto?.begin();
    return start.ring.map((endpoint, i) => ({ endpoint, key: start.ringKeys?.[i] }));
  }

  reduce(buf: Float32Array, rank: number, world: number, link: PeerLink, step: number, phase: Phase, times: RingTimes): Promise<Float32Array> {
    if (this.auto) return this.auto.reduce(buf, rank, world, link, step, phase, DEFAULT_SEGMENT_ELEMENTS, times);
    return halvingDoublingAllReduce(buf, rank, world, link, step, phase, DEFAULT_SEGMENT_ELEMENTS, times);
  }

  /** The choice made since the last step report, once (for summary.json). */
  takeReport(): { allreduceChoice?: AllreduceChoice } {
    const c = this.unreported;
    this.unreported = undefined;
    return c ? { allreduceChoice: c } : {};
  }
}
