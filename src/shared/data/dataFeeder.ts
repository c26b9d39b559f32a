import type { TrainConfig } from '../config.js';
import { IMAGE_SIZE, type ImageSet } from './dataset.js';
import { batchPosition, epochPermutation, gatherExamples, sliceGlobalBatch } from './sharding.js';
import type { LocalBatch } from '../gan/trainStep.js';

/** Cuts each global batch (always `world × batchSize` examples) into the per-rank slices the coordinator ships. */
export class DataFeeder {
  private epoch = -1;
  private order: Uint32Array = new Uint32Array(0);

  constructor(private readonly data: ImageSet, private readonly config: TrainConfig) {}

  /** Rank `rank`'s slice of step `step`'s global batch, cut among `parts` workers. */
  batchFor(step: number, rank: number, parts: number): LocalBatch {
    const { epoch, batchInEpoch } = batchPosition(step, this.config.stepsPerEpoch);
    if (epoch !== this.epoch) {
      this.order = epochPermutation(this.data.count, this.config.seed, epoch);
      this.epoch = epoch;
    }
    const { start, end } = sliceGlobalBatch(batchInEpoch, rank, parts, this.config.world * this.config.batchSize);
    return { step, epoch, position: start, images: gatherExamples(this.data.images, IMAGE_SIZE, this.order, start, end) };
  }
}
