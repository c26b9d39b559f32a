import type { TrainConfig } from '../shared/config.js';
import type { DataFeeder } from '../shared/data/dataFeeder.js';
import { type Batch, type Go, PROTOCOL_VERSION } from '../shared/protocol.js';

/**
 * What a `ship` effect sends each member: its slice of the step (--data coordinator), or with
 * --data local only the go-ahead, so the pacing (prefetch, a join's or a stop's boundary) stays
 * the coordinator's while the examples come from the worker's own copy. Counts what it shipped.
 */
export class Shipping {
  /** Batch messages sent (none with --data local). */
  batches = 0;
  /** Bytes of images in them. */
  bytes = 0;

  constructor(private readonly feeder: DataFeeder, private readonly config: TrainConfig) {}

  /** With --data local, the one message every member gets for steps `step` to `through` (so it can be encoded once for all); else undefined. */
  goAhead(gen: number, step: number, through: number): Go | undefined {
    return this.config.data === 'local' ? { t: 'go', v: PROTOCOL_VERSION, gen, step, through } : undefined;
  }

  /** Rank `rank`'s slice of step `step` (--data coordinator); shipments of data are one step each. */
  messageFor(gen: number, step: number, rank: number, parts: number): Batch {
    const batch = this.feeder.batchFor(step, rank, parts);
    this.batches++;
    this.bytes += batch.images.byteLength;
    return { t: 'batch', v: PROTOCOL_VERSION, gen, ...batch };
  }
}
