import { readlinkSync } from 'node:fs';
import type { Phase } from '../protocol.js';
import { hostId } from '../hostId.js';
import type { Logger } from '../logger.js';
import { errorMessage } from '../errors.js';
import { NATIVE_ADDON_PATH, requireNativeAddon } from '../compute/nativeAddon.js';
import type { PeerLink } from '../allreduce/peerLink.js';
import type { RingTimes } from '../allreduce/ring.js';
import { BARRIER_WORD_OFFSET, type SharedSlots, type SlotAverage, averageSlotsJs, peerBarrier, sharedMemoryAllReduce, sharedSegmentBytes, sharedSlots } from '../allreduce/sharedMemoryReduce.js';
import type { Averaged } from '../allreduce/averaged.js';
import { barrierSeq } from '../allreduce/sharedMemoryPlan.js';
import { type BarrierGuard, type BarrierWordAddon, SegmentBarrier } from '../allreduce/segmentBarrier.js';

/** The addon's POSIX shared memory (native/src/shm.c), and the barrier word (native/src/shmBarrier.c) where the build has it. */
export interface SharedMemoryAddon extends Partial<BarrierWordAddon> {
  /** The segment `name` ("/NAME"), created zero-filled with mode 0600 if absent, mapped MAP_SHARED; unmapped when the buffer is collected. */
  shmMap(name: string, bytes: number): ArrayBuffer;
  /** Removes the name (mappings stay valid): true if it existed. */
  shmUnlink(name: string): boolean;
  /** SlotAverage (sharedMemoryReduce.ts) in C, vectorized; an addon built before native/src/slotAverage.c lacks it and JavaScript averages. */
  averageSlots?(out: Float32Array, parts: Float32Array[], factor: number): void;
}

/** Loads the addon's shared-memory functions, or throws one line saying why not. */
export function loadSharedMemory(file = NATIVE_ADDON_PATH): SharedMemoryAddon {
  return requireNativeAddon<SharedMemoryAddon>(file, ['shmMap', 'shmUnlink']);
}

/**
 * Which /dev/shm this process sees: the host id (host name and network
 * namespace) with the mount namespace. Containers that share a network
 * namespace may still have /dev/shm of their own; two ranks that see different
 * ones would each read zeros for the other's slots, so they must not be taken
 * for one host here. (Containers that do share /dev/shm across mount
 * namespaces are refused too: they use their ipc links, which is safe.)
 */
export function sharedMemoryDomain(): string {
  let mnt = '';
  try {
    mnt = readlinkSync('/proc/self/ns/mnt');
  } catch {
    // Not Linux: the host id alone.
  }
  return mnt ? `${hostId()} ${mnt}` : hostId();
}

/** The addon's barrier word if it has one (an addon built before shmBarrier.c does not). */
export function barrierWord(addon: SharedMemoryAddon): BarrierWordAddon | undefined {
  const { shmArrive, shmWait } = addon;
  return shmArrive && shmWait ? { shmArrive: shmArrive.bind(addon), shmWait: shmWait.bind(addon) } : undefined;
}

/** How the ranks of a shared-memory generation meet at their barriers: the segment's barrier word, or empty messages over the links (and why). */
export type BarrierKind = { kind: 'segment'; word: BarrierWordAddon } | { kind: 'message'; why: string };

/**
 * The addon if it loads and can map a segment here, the barrier its ranks will
 * use, and the domain to tell the coordinator in the hello; else why not. The
 * domain names the barrier kind: ranks that would meet at different kinds of
 * barrier (two installs, one addon older) never share a segment.
 * `messageBarrier`: why to use message barriers even where the addon has the word.
 */
export function probeSharedMemory(load: () => SharedMemoryAddon = loadSharedMemory, name = `/trainer-probe-${process.pid}`, messageBarrier?: string): { addon: SharedMemoryAddon; domain: string; barrier: BarrierKind } | { why: string } {
  try {
    const addon = load();
    // A host without /dev/shm (or with it full) loads the addon and still cannot map.
    addon.shmMap(name, 4096);
    addon.shmUnlink(name);
    const word = barrierWord(addon);
    const barrier: BarrierKind = messageBarrier !== undefined ? { kind: 'message', why: messageBarrier }
      : word ? { kind: 'segment', word } : { kind: 'message', why: 'the native addon has no shmWait: rebuild it with npm run build:native' };
    return { addon, domain: `${sharedMemoryDomain()} barrier:${barrier.kind}`, barrier };
  } catch (err) {
    return { why: errorMessage(err) };
  }
}

/**
 * One generation's shared-memory all-reduces: the segment mapped by every rank
 * of one host, the barriers in the segment (with `word`) or over the
 * generation's peer link. The name is
 * unlinked once every rank has mapped it (past the first barrier: every rank
 * wrote its slot), so a worker killed later leaves nothing in /dev/shm; the
 * mapping lives on until the buffer is collected.
 */
export class SharedMemoryGeneration {
  private readonly slots: SharedSlots;
  private readonly segmentBarrier: SegmentBarrier | undefined;
  private readonly average: SlotAverage;
  private calls = 0;
  private unlinked = false;

  constructor(private readonly addon: SharedMemoryAddon, readonly name: string, private readonly rank: number, readonly world: number, capacity: number, private readonly logger: Logger, word?: BarrierWordAddon) {
    const segment = addon.shmMap(name, sharedSegmentBytes(world, capacity));
    this.slots = sharedSlots(segment, world, capacity);
    this.segmentBarrier = word ? new SegmentBarrier(word, segment, BARRIER_WORD_OFFSET, world, rank) : undefined;
    this.average = addon.averageSlots ? addon.averageSlots.bind(addon) : averageSlotsJs;
  }

  /** The average of `buf` across the generation's ranks, to be formed from the segment's slots (sharedMemoryAllReduce: valid until this rank calls again); every rank calls it for the same buffers in the same order. */
  async reduce(buf: Float32Array, link: PeerLink & BarrierGuard, step: number, phase: Phase, times?: RingTimes): Promise<Averaged> {
    const bank = (this.calls++ % 2) as 0 | 1;
    return sharedMemoryAllReduce(buf, this.rank, this.slots, bank, async () => {
      // Told before either kind of barrier: the fault hooks kill a worker as it arrives.
      link.arriving?.({ step, phase, seq: barrierSeq(this.rank) });
      if (this.segmentBarrier) await this.segmentBarrier.wait(link);
      else await peerBarrier(link, this.rank, this.world, step, phase);
      this.unlink();
    }, times, this.average);
  }

  /**
   * Where the next reduce() reads this rank's `length` floats from: its slot of the next call's bank.
   * A phase that reads its gradients back straight into it spares the all-reduce a copy of them (4.4 MB
   * a step for the MLP). Undefined when `length` exceeds the slot.
   */
  nextSlot(length: number): Float32Array | undefined {
    if (length > this.slots.capacity) return undefined;
    return this.slots.slot((this.calls % 2) as 0 | 1, this.rank).subarray(0, length);
  }

  /** Removes the name if nobody did yet (any rank may: the first one wins, the others find it gone). */
  unlink(): void {
    if (this.unlinked) return;
    this.unlinked = true;
    try {
      this.addon.shmUnlink(this.name);
    } catch (err) {
      this.logger.log('warn', `could not unlink shared memory ${this.name}: ${errorMessage(err)}`);
    }
  }
}
