import type { AllreduceChoice } from '../shared/protocol.js';
import type { TrainConfig } from '../shared/config.js';
import type { TimeoutError } from '../shared/errors.js';
import { StarReducer } from '../shared/allreduce/star.js';
import { wireCodec } from '../shared/allreduce/compression.js';
import type { LogFields, LogLevel } from '../shared/logger.js';
import type { CoordinatorMessage, Hello, Span, WorkerMessage } from '../shared/protocol.js';
import type { AbortRound } from './abortRound.js';
import { Liveness } from './liveness.js';
import { type Member, Membership } from './membership.js';
import type { ResumePoint, Survivor } from './reformPlan.js';
import { type CompletedStep, StepTracker } from './stepTracker.js';
import type { MembershipChange } from './summary.js';

// What the coordinator's decisions read and write (RunState), what reaches them (RunEvent) and what they ask
// the shell to do (Effect). No I/O here: the clock comes in on every event.

/** What the run reports as it goes, for metrics, samples and the timeline; all optional. */
export interface CoordinatorEvents {
  configured?(config: TrainConfig): void;
  listening?(droppedFrames: () => number): void;
  /** Every registered worker, read when needed (Prometheus service discovery). */
  members?(current: () => readonly Member[]): void;
  /** Workers registered, or in the roster once training runs. */
  workersConnected?(count: number): void;
  started?(info: { backend: string }): void;
  stepCompleted?(done: CompletedStep, info: { epoch: number; images: number; stepSeconds: number }): void;
  spans?(rank: number, step: number, spans: Span[]): void;
  /** Rank 0's weights at a sample step (not the final ones, which the result carries). */
  sampleWeights?(step: number, weights: { generator: Float32Array; discriminator: Float32Array }): void;
  /** Rank 0's weights at an --eval-every step (the final ones come with the result). */
  evalWeights?(step: number, weights: { generator: Float32Array; discriminator: Float32Array }): void;
  checkpointWritten?(step: number, bytes: number): void;
  /** Every replica skipped an update of this step for non-finite gradients. */
  badStep?(step: number): void;
  workerFailed?(id: number): void;
  workerLost?(id: number): void;
  /** A new generation formed after workers were lost or joined. */
  membershipChanged?(change: MembershipChange): void;
  replicaMismatch?(): void;
}

/** A replica's full state after `step`: what a joining worker or a checkpoint needs. */
export interface ReplicaState {
  step: number;
  generator: Float32Array;
  discriminator: Float32Array;
  /** Absent only for the initial state of a fresh run (Adam starts from zero). */
  optimizer?: { generator: Float32Array; discriminator: Float32Array };
  /** The generator's weight average as the worker sent it (it is also at the end of optimizer.generator): what the run shows. */
  generatorAverage?: Float32Array;
}
export type CheckpointState = ReplicaState & { optimizer: NonNullable<ReplicaState['optimizer']> };

/**
 * Where the run stands. Training runs in generations, each with a fixed roster;
 * losing a worker (or admitting one) abandons the current generation on every
 * member, finds the latest state a survivor holds, and starts the next one.
 */
export type Phase =
  | 'registering' // waiting for the first --workers workers
  | 'training'
  | 'aborting' // told the roster to abandon the generation; collecting their answers
  | 'awaitingState' // asked a survivor for the state the next generation starts from
  | 'waitingForWorkers' // fewer than --min-workers: waiting up to --rejoin-timeout
  | 'stopping'; // giving up: collecting a final state for a checkpoint

/** The one deadline armed at a time, named for what its expiry means. */
export type Deadline = 'register' | 'step' | 'abort' | 'state' | 'rejoin';

/** Fixed for the run. */
export interface RunSettings {
  config: TrainConfig;
  /** The model/config hash every worker must report. */
  expectedHash: string;
  prefetch: number;
  maxBadSteps: number;
  registerTimeoutMs: number;
  /** The run directory, named in messages on how to resume. */
  out: string;
  /** CURVE: workers must name their ring key, and the start message carries them. */
  curve: boolean;
  /** Hex that names this run's shared-memory segments (the shell draws it; absent: "0"). */
  segmentToken?: string;
  /** The newest state the coordinator holds at the start: the initial weights, or the resumed checkpoint. */
  initial: ReplicaState;
}

export interface RunState {
  readonly settings: RunSettings;
  phase: Phase;
  gen: number;
  /** What the armed deadline is for. */
  deadline: Deadline | undefined;
  membership: Membership;
  liveness: Liveness;
  tracker: StepTracker;
  star: StarReducer;
  /** Heartbeat connections by worker id (a worker's heartbeat thread has a connection of its own). */
  heartbeatPeers: Map<number, string>;
  trainingStarted: boolean;
  /** The newest state the coordinator itself holds: the initial one, then each checkpoint's. */
  fallback: ReplicaState;
  lastCompleted: number;
  lastStep: CompletedStep | undefined;
  finalWeights: { generator: Float32Array; discriminator: Float32Array } | undefined;
  nextShipped: number;
  badSteps: number;
  /** The step deadline was last re-armed when this step was the last completed. */
  progressAt: number;
  /** Set while an elastic run checks who is stuck after the step deadline passed: the error if nobody is. */
  stalled: TimeoutError | undefined;
  // Membership changes in progress: who was lost, since when, the survivors' answers, the state to resume from.
  changes: MembershipChange[];
  lostSinceLastGeneration: MembershipChange['lost'];
  troubleAt: number | undefined;
  abortRound: AbortRound | undefined;
  survivors: Survivor[];
  resume: ResumePoint | undefined;
  resumeState: ReplicaState | undefined;
  stateSource: number | undefined;
  rejoinDeadline: number | undefined;
  /** Workers left when the rejoin wait began (for the message when it ends). */
  rejoinHave: number;
  stopReason: string;
  /** --allreduce auto: the choice the workers last reported (α, β and the algorithm per phase). */
  allreduceChoice: AllreduceChoice | undefined;
  /** --allreduce shm or auto: whether the last generation all-reduced through shared memory (undefined: not asked). */
  sharedMemory?: boolean;
  /** Set while a waiting worker is to be admitted after this step (shipping stops there). */
  joinAt: number | undefined;
  /** The generation whose first completed step is still awaited, to time the recovery. */
  recovering: { change: MembershipChange; since: number } | undefined;
  pendingStepsLost: number;
  /** A stop was asked for (a signal, or a launched worker's death in a fixed world): why. */
  stopRequested: string | undefined;
  /** Set when stopping on a signal: the last step shipped, after which rank 0's state becomes the final checkpoint. */
  stopAfter: number | undefined;
  /** The run finished or failed: later events change nothing. */
  over: boolean;
  /** The effects of the event being decided, in order. */
  out: Effect[];
}

/** What reaches the decisions. `now`: the shell's clock (ms), the only time they see. */
export type RunEvent = { now: number } & (
  | { t: 'begin' }
  /** A worker's hello, with the session secret the shell drew for it. */
  | { t: 'hello'; peer: string; msg: Hello; session: string }
  | { t: 'message'; peer: string; msg: Exclude<WorkerMessage, Hello> }
  /** A worker this process launched (by slot) exited. */
  | { t: 'launchedExit'; slot: number; reason: string }
  /** The armed deadline passed. */
  | { t: 'deadline' }
  /** Time to send heartbeats and look for silent workers. */
  | { t: 'heartbeatTick' }
  /** Time to see whether training moved, to push the step deadline on. */
  | { t: 'progressTick' }
  | { t: 'stop'; reason: string });

/** A CoordinatorEvents call, as data. */
export type Notify = { [K in keyof CoordinatorEvents]-?: { kind: 'notify'; name: K; args: Parameters<NonNullable<CoordinatorEvents[K]>> } }[keyof CoordinatorEvents];

/** What the decisions ask the shell to do, in order. */
export type Effect =
  /** `bestEffort`: a failed send is ignored; otherwise it fails the run. */
  | { kind: 'send'; peer: string; msg: CoordinatorMessage; bestEffort?: true }
  /** Steps `step` to `through` to each member: its slices of their global batches, or with --data local one go-ahead for them all. */
  | { kind: 'ship'; gen: number; step: number; through: number; to: Array<{ peer: string; rank: number }> }
  /** A frame refused and counted. */
  | { kind: 'drop'; peer: string; reason: string }
  | { kind: 'log'; level: LogLevel; msg: string; fields?: LogFields }
  | Notify
  | { kind: 'checkpoint'; state: CheckpointState }
  | { kind: 'arm'; ms: number }
  /** Every worker is ready: training starts now. */
  | { kind: 'trainingStarted'; backend: string }
  /** A step completed (the progress log and the stepCompleted event). */
  | { kind: 'stepCompleted'; done: CompletedStep }
  | { kind: 'finish' }
  | { kind: 'fail'; error: Error };

export function initialRunState(settings: RunSettings): RunState {
  const { config } = settings;
  const s: RunState = {
    settings, phase: 'registering', gen: 0, deadline: undefined,
    membership: new Membership(config.world, { requireRingKey: settings.curve }),
    liveness: new Liveness(config.workerTimeoutMs),
    tracker: undefined as unknown as StepTracker,
    star: new StarReducer(config.world, wireCodec(config.compression ?? 'none')),
    heartbeatPeers: new Map(), trainingStarted: false,
    fallback: settings.initial, lastCompleted: settings.initial.step, lastStep: undefined, finalWeights: undefined,
    nextShipped: settings.initial.step + 1, badSteps: 0, progressAt: 0, stalled: undefined,
    changes: [], lostSinceLastGeneration: [], troubleAt: undefined, abortRound: undefined, survivors: [], resume: undefined,
    resumeState: undefined, stateSource: undefined, rejoinDeadline: undefined, rejoinHave: 0, stopReason: '', allreduceChoice: undefined, joinAt: undefined,
    recovering: undefined, pendingStepsLost: 0, stopRequested: undefined, stopAfter: undefined, over: false, out: [],
  };
  s.tracker = newTracker(s, config.world);
  return s;
}

/** Whichever path finds a replica mismatch (a report, or a flush after a loss), the metric counts it. */
/** A generation's step tracker; its ranks' first reports are of step `after` + 1. */
export const newTracker = (s: RunState, world: number, after = 0): StepTracker => new StepTracker(world, () => notify(s, 'replicaMismatch'), after);

export { AbortRound };

// ---- Effect helpers -------------------------------------------------------------------------------

export const send = (s: RunState, peer: string, msg: CoordinatorMessage): void => { s.out.push({ kind: 'send', peer, msg }); };
export const toRoster = (s: RunState, msg: CoordinatorMessage): void => {
  for (const m of s.membership.roster()) send(s, m.peer, msg);
};
export const log = (s: RunState, level: LogLevel, msg: string, fields?: LogFields): void => {
  s.out.push(fields === undefined ? { kind: 'log', level, msg } : { kind: 'log', level, msg, fields });
};
export function notify<K extends keyof CoordinatorEvents>(s: RunState, name: K, ...args: Parameters<NonNullable<CoordinatorEvents[K]>>): void {
  s.out.push({ kind: 'notify', name, args } as Notify);
}
export const arm = (s: RunState, deadline: Deadline, ms: number): void => {
  s.deadline = deadline;
  s.out.push({ kind: 'arm', ms: Math.max(0, ms) });
};
export const fail = (s: RunState, error: Error): void => {
  s.out.push({ kind: 'fail', error });
  s.over = true;
};
export const describe = (m: Member): string => `worker ${m.id}${m.rank === undefined ? '' : ` (rank ${m.rank})`} ${m.hello.host}/${m.hello.pid}`;
