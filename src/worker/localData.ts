import type { TrainConfig } from '../shared/config.js';
import { DataFeeder } from '../shared/data/dataFeeder.js';
import { loadTrainingSet } from '../shared/data/dataset.js';
import { TrainerError } from '../shared/errors.js';
import type { LocalBatch } from '../shared/gan/trainStep.js';
import type { Batch, Go } from '../shared/protocol.js';

/**
 * --data local: this worker's own copy of the coordinator's training set and the coordinator's
 * feeder over it, so each step's slice is the one the coordinator would have shipped (same epoch
 * order from the seed, same cut of the global batch among the current generation's ranks).
 * Undefined when the coordinator ships the batches.
 */
export function localFeeder(config: TrainConfig): DataFeeder | undefined {
  if (config.data !== 'local') return undefined;
  const data = loadTrainingSet(undefined, config.dataExamples);
  // A different count would be a different epoch order: fail rather than train on other examples.
  if (config.dataExamples === undefined || data.count !== config.dataExamples) {
    throw new TrainerError('E_DATA', `--data local: the coordinator trains on ${config.dataExamples ?? 'an unknown number of'} examples, this worker's bundled MNIST has ${data.count}`);
  }
  return new DataFeeder(data, config);
}

/** The batch a step trains on: the one shipped, or for a go-ahead this rank's slice of the current generation's world. */
export function stepBatch(msg: Batch | Go, own: DataFeeder | undefined, rank: number, world: number): LocalBatch {
  if (msg.t === 'batch') return msg;
  if (!own) throw new TrainerError('E_PROTOCOL', `the coordinator sent a go-ahead for step ${msg.step} but ships the data in this run`);
  return own.batchFor(msg.step, rank, world);
}
