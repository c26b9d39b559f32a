import type { Variable } from './tf.js';
import type { buildModel } from './models.js';

type LayersModel = ReturnType<typeof buildModel>;

/**
 * `data()` already hands back a buffer of our own, disposed tensor or not;
 * copying it again would cost megabytes of garbage per step.
 */
export function asFloat32(data: ArrayLike<number>): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** Some of a model's variables, in a fixed order, and how to (un)fuse them. */
export class VarList {
  readonly shapes: number[][];
  readonly sizes: number[];
  readonly total: number;

  constructor(readonly vars: Variable[]) {
    this.shapes = vars.map((v) => v.shape as number[]);
    this.sizes = this.shapes.map((s) => s.reduce((a, b) => a * b, 1));
    this.total = this.sizes.reduce((a, b) => a + b, 0);
  }
}

/** A model's parameters (trained by Adam) and state (batch-norm moving statistics), in tfjs's `weights` order. */
export class ParamGroup {
  readonly params: VarList;
  readonly stats: VarList;
  readonly all: VarList;

  constructor(readonly model: LayersModel) {
    this.params = new VarList(model.trainableWeights.map((w) => w.read() as Variable));
    this.stats = new VarList(model.nonTrainableWeights.map((w) => w.read() as Variable));
    this.all = new VarList([...this.params.vars, ...this.stats.vars]);
  }
}
