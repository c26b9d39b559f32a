// How a replica's optimizer state is laid out, with no TensorFlow.js behind it: the coordinator's
// decisions read the generator's weight average out of a checkpoint state with it.

/** Floats in FlatAdam's exported state for `size` parameters: the step counter, the two beta powers, both moments. */
export function adamStateSize(size: number): number {
  return 3 + 2 * size;
}

/** A generator optimizer state that carries the weight average: Adam's state, then the average. */
export function withAverage(adamState: Float32Array, average: Float32Array): Float32Array {
  const state = new Float32Array(adamState.length + average.length);
  state.set(adamState);
  state.set(average, adamState.length);
  return state;
}

/**
 * The weight average at the end of a generator optimizer state (GanReplica.getOptimizerState), for a
 * generator with `trainable` parameters and `state` floats in all; undefined if the state holds none.
 */
export function averageInOptimizerState(optimizerState: Float32Array, trainable: number, state: number): Float32Array | undefined {
  const adam = adamStateSize(trainable);
  return optimizerState.length === adam + state ? optimizerState.subarray(adam) : undefined;
}
