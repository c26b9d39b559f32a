import type { AllreduceChoice } from '../shared/protocol.js';
import type { TrainingEvalSummary } from './trainingEval.js';

/** One membership change: the generation it formed and what it cost. */
export interface MembershipChange {
  generation: number;
  /** Training continued after this step. */
  step: number;
  workers: number;
  /** The new roster's worker ids, in rank order. */
  workerIds: number[];
  lost: Array<{ id: number; host: string; pid: number; reason: string }>;
  joined: Array<{ id: number; host: string; pid: number }>;
  /** Completed steps thrown away: non-zero only when no survivor held a state and training went back to a checkpoint. */
  stepsLost: number;
  /** Bytes of state (weights, batch-norm statistics, optimizer moments) sent to the workers that lacked it. */
  stateBytes: number;
  /** From the first sign of the change (a worker detected lost, or a joiner ready) to the new generation's start. */
  pauseMs: number;
  /** From the same moment to the new generation's first completed step. */
  recoveryMs?: number;
}

/** summary.json: what a run did, for people and for scripts. */
export interface Summary {
  steps: number;
  workers: number;
  globalBatchSize: number;
  backend: string;
  allreduce: string;
  /** What gradients travelled as (--compression). */
  compression: string;
  /** Where workers got their examples (--data): 'coordinator' (shipped) or 'local' (read by each worker). */
  data: string;
  /**
   * The learning rate (--lr), the discriminator's where it had its own (--d-lr), and the steps at the run's end over
   * which both fell linearly towards zero (--lr-decay; 0: constant).
   */
  learningRate: { lr: number; dLr?: number; decaySteps: number };
  /** One-sided label smoothing (--label-smoothing): D's target for real images was 1 − this; absent: none. */
  labelSmoothing?: number;
  /** The generator's weight average (--ema-decay) that samples, evaluations and generator/ show; absent: they show the last weights. */
  generatorAverage?: { decay: number; updateEvery: number };
  /** Batch messages the coordinator sent and the bytes of images in them (none with --data local). */
  shipped: { batches: number; bytes: number };
  /** --allreduce auto: the last generation's α and β (measured between neighbours) and the algorithm chosen per phase. */
  allreduceChoice?: AllreduceChoice;
  /** --allreduce shm or auto: whether the last generation all-reduced through shared memory (every rank on one host). */
  sharedMemory?: boolean;
  final: { dLoss: number; gLoss: number; dReal: number; dFake: number };
  replicaHash: string;
  imagesPerSecond: number;
  wallSeconds: number;
  trainSeconds: number;
  arch: string;
  batchSize: number;
  epochs: number;
  seed: number;
  dataset: { dir: string; examples: number };
  workerBackends: string[];
  /** The device each worker's backend runs on, where it can tell ('' otherwise). */
  workerDevices: string[];
  droppedFrames: number;
  /** Steps whose update was skipped on every replica because the averaged gradients were not finite. */
  badSteps: number;
  /** Workers lost and admitted during the run (elastic training). */
  membership: {
    minWorkers: number;
    /** Rosters the run went through: 1 if nothing changed. */
    generations: number;
    finalWorkers: number;
    workersLost: number;
    workersJoined: number;
    changes: MembershipChange[];
  };
  /** MNIST-FID during training (--eval-every): every evaluation and the best. */
  evaluation?: TrainingEvalSummary;
  /** Set when the run continued from a checkpoint. */
  resumedFrom?: { step: number; file: string };
}
