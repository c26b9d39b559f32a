import type { ChunkTag, RingLink } from '../shared/allreduce/link.js';
import type { PeerLink } from '../shared/allreduce/peerLink.js';
import type { BarrierGuard } from '../shared/allreduce/segmentBarrier.js';
import type { Reduce } from '../shared/gan/trainStep.js';

/**
 * Faults a test can ask a worker to suffer (the hidden --fault-* flags). They
 * live here, apart from the training loop: the loop only passes its link and
 * reduce through the hooks, which hand them back untouched when no fault is set.
 */
export interface FaultOptions {
  /** This worker's discriminator gradients at this step become NaN (bad-gradient handling). */
  nanStep?: number;
  /** This worker kills itself (SIGKILL) in the middle of this step's generator all-reduce (elastic training). */
  killStep?: number;
  /** This worker's main thread spins forever at this step, its heartbeat thread going on (elastic training). */
  hangStep?: number;
  /** This worker's shared-memory loader fails, as where the addon is missing (the fallback to the links). */
  noSharedMemory?: boolean;
}

export interface FaultHooks {
  /** The ring link to train over: `ring`, or one that dies mid all-reduce. */
  link(ring: RingLink): RingLink;
  /** The same for the peer-to-peer all-reduces (rhd, auto). */
  peerLink(link: PeerLink & BarrierGuard): PeerLink & BarrierGuard;
  /** The all-reduce to train with: `reduce`, or one that poisons a gradient first. */
  reduce(reduce: Reduce): Reduce;
  /** Called once step `step`'s batch is in, before its compute. */
  stepStarted(step: number): void;
}

export function faultHooks(f: FaultOptions = {}): FaultHooks {
  return {
    link: (ring) => (f.killStep === undefined ? ring : dyingLink(ring, f.killStep)),
    peerLink: (link) => (f.killStep === undefined ? link : dyingPeerLink(link, f.killStep)),
    reduce: (reduce) => (f.nanStep === undefined ? reduce : (step, phase, grads, times) => {
      if (step === f.nanStep && phase === 'd') grads[0] = Number.NaN;
      return reduce(step, phase, grads, times);
    }),
    stepStarted: (step) => {
      if (step === f.hangStep) spinForever();
    },
  };
}

/**
 * The ring link of a worker that dies in the middle of step `step`'s generator
 * all-reduce, just before its second chunk leaves. Its successor can then never
 * finish that all-reduce, and every survivor has already applied the step's
 * discriminator update: the case a rollback must undo.
 */
function dyingLink(ring: RingLink, step: number): RingLink {
  return {
    sendNext(tag, data) {
      if (tag.step === step && tag.phase === 'g' && tag.seq >= 1) process.kill(process.pid, 'SIGKILL');
      return ring.sendNext(tag, data);
    },
    recvPrev: (tag) => ring.recvPrev(tag),
  };
}

/**
 * dyingLink's twin for the peer-to-peer all-reduces: the second message of step `step`'s generator all-reduce
 * never leaves; over shared memory, the rank dies as it arrives at that all-reduce's barrier (its slot written,
 * which no rank can use without the barrier), whichever rank it is: the barrier is the all-reduce's only one.
 */
function dyingPeerLink(link: PeerLink & BarrierGuard, step: number): PeerLink & BarrierGuard {
  const inStep = (tag: ChunkTag): boolean => tag.step === step && tag.phase === 'g';
  return {
    send(to, tag, data) {
      if (inStep(tag) && tag.seq >= 1) process.kill(process.pid, 'SIGKILL');
      return link.send(to, tag, data);
    },
    recv: (from, tag) => link.recv(from, tag),
    get timeoutMs() {
      return link.timeoutMs;
    },
    assertLive: () => link.assertLive(),
    arriving(tag) {
      if (inStep(tag)) process.kill(process.pid, 'SIGKILL');
    },
  };
}

/** A main thread stuck for good (a runaway kernel, a deadlock): nothing but a kill ends it. */
function spinForever(): void {
  for (let t = performance.now(); t < Infinity; t = performance.now()) {
    // spin
  }
}
