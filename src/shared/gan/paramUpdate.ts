import type { Tf } from './tf.js';
import type { FlatAdam } from './flatAdam.js';
import type { VarList } from './paramGroup.js';
import { type Averaged, averageParts, averagedRange } from '../allreduce/averaged.js';
import { allFinite } from './finite.js';
import { hasFusedAdamParts } from '../compute/fusedAdam.js';

const formed = new WeakMap<VarList, Float32Array>();

/** Where a pending average (shared memory) is formed, kept per model: megabytes of new arrays each step would wake the collector. */
function keptFor(params: VarList): Float32Array {
  let kept = formed.get(params);
  if (!kept) formed.set(params, (kept = new Float32Array(params.total)));
  return kept;
}

/**
 * Adam's step for one model's parameters from the first params.total values of the averaged gradients `avg`.
 * Where the backend has it (native), one kernel over the variables as they lie, the average formed inside it
 * (FlatAdam.updateVariables); elsewhere one upload, one update over the concatenated vector, and a split back.
 * Both give the same bits. False, with nothing changed, when an averaged gradient is not finite.
 */
export function updateParams(tf: Tf, params: VarList, opt: FlatAdam, avg: Averaged, lr: number): boolean {
  const { vars, sizes, shapes, total } = params;
  if (hasFusedAdamParts(tf)) {
    const { parts, factor } = averageParts(avg, total);
    const values = opt.updateVariables(vars, parts, factor, lr);
    if (!values) return false;
    vars.forEach((v, i) => v.assign(values[i]!));
    tf.dispose(values);
    return true;
  }
  const grads = averagedRange(avg, 0, total, avg instanceof Float32Array ? undefined : keptFor(params));
  if (!allFinite(grads)) return false;
  tf.tidy(() => {
    const value = tf.concat(vars.map((v) => v.reshape([-1])));
    const parts = tf.split(opt.update(value, tf.tensor1d(grads), lr), sizes);
    vars.forEach((v, i) => v.assign(parts[i]!.reshape(shapes[i]!)));
  });
  return true;
}
