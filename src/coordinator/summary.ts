/** summary.json: what a run did, for people and for scripts. */
export interface Summary {
  steps: number;
  workers: number;
  globalBatchSize: number;
  backend: string;
  allreduce: string;
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
  /** Set when the run continued from a checkpoint. */
  resumedFrom?: { step: number; file: string };
}
