import type { Tf, Tensor, Variable } from './tf.js';
import { FUSED_ADAM, FUSED_ADAM_PARTS, type FusedAdamAttrs, type FusedAdamPartsAttrs, hasFusedAdam } from '../compute/fusedAdam.js';
import { adamStateSize } from './stateLayout.js';


export interface AdamSnapshot {
  tensors: Tensor[];
  iterations: number;
  accBeta: [number, number];
}

/**
 * Adam over one flat parameter vector: the same element-wise operations, in the
 * same order, as tfjs's AdamOptimizer (so the same bits), but a dozen kernel
 * launches per model instead of a dozen per variable. On WebGPU each launch
 * costs far more than the arithmetic; on wasm the per-variable ops dominated
 * the update too. Where the backend has the FusedAdam kernel (one contract,
 * compute/fusedAdam.ts; implemented for native there and for webgpu in
 * webgpuAdam.ts) the whole update is that one kernel.
 */
export class FlatAdam {
  private readonly m: Variable;
  private readonly v: Variable;
  private readonly accBeta1: Variable;
  private readonly accBeta2: Variable;
  private iterations = 0;
  /**
   * accBeta1 and accBeta2 as the CPU holds them: float32 products formed as the
   * element-wise path forms them on the backend (IEEE float32 multiplication is
   * exact-rounded everywhere), so the fused path uploads them instead of
   * running two kernels (on webgpu, two dispatches) to advance them.
   */
  private accBeta: [number, number];

  constructor(private readonly tf: Tf, size: number, private readonly beta1: number, private readonly beta2: number, private readonly epsilon: number) {
    this.m = tf.zeros([size]).variable(false);
    this.v = tf.zeros([size]).variable(false);
    this.accBeta1 = tf.scalar(beta1).variable(false);
    this.accBeta2 = tf.scalar(beta2).variable(false);
    this.accBeta = [Math.fround(beta1), Math.fround(beta2)];
  }

  /** The updated parameters for flat `value` and `gradient` at learning rate `lr` (lrSchedule.ts); advances the moments. */
  update(value: Tensor, gradient: Tensor, lr: number): Tensor {
    const tf = this.tf;
    const out = hasFusedAdam(tf) ? this.fusedUpdate(value, gradient, lr) : this.elementwiseUpdate(value, gradient, lr);
    this.countStep();
    return out;
  }

  /**
   * The same update over the variables `values` as they are (no concatenation, upload or split), with the
   * gradient formed from `parts` × `factor` as averageSlots forms it, in one kernel (FUSED_ADAM_PARTS: only
   * where hasFusedAdamParts). Returns each variable's new value and advances the moments; undefined, with
   * nothing changed, when a gradient is not finite.
   */
  updateVariables(values: Tensor[], parts: Float32Array[], factor: number, lr: number): Tensor[] | undefined {
    const tf = this.tf;
    const report = { finite: false };
    const attrs: FusedAdamPartsAttrs = { beta1: this.beta1, beta2: this.beta2, lr, epsilon: this.epsilon, parts, factor, report };
    const inputs: Record<string, Tensor> = { m: this.m, v: this.v, accBeta1: this.accBeta1, accBeta2: this.accBeta2 };
    values.forEach((t, i) => { inputs[`value${i}`] = t; });
    const [newM, newV, ...newValues] = tf.engine().runKernel(FUSED_ADAM_PARTS, inputs, attrs as never) as Tensor[];
    if (!report.finite) {
      tf.dispose([newM!, newV!, ...newValues]);
      return undefined;
    }
    this.m.assign(newM!);
    this.v.assign(newV!);
    tf.dispose([newM!, newV!]);
    this.uploadNextBetaPowers();
    this.countStep();
    return newValues;
  }

  private elementwiseUpdate(value: Tensor, gradient: Tensor, lr: number): Tensor {
    const tf = this.tf;
    return tf.tidy(() => {
      const oneMinusAccBeta1 = tf.sub(1, this.accBeta1);
      const oneMinusAccBeta2 = tf.sub(1, this.accBeta2);
      const newFirstMoment = tf.add(tf.mul(this.m, this.beta1), tf.mul(gradient, 1 - this.beta1));
      const newSecondMoment = tf.add(tf.mul(this.v, this.beta2), tf.mul(tf.square(gradient), 1 - this.beta2));
      const biasCorrectedFirstMoment = tf.div(newFirstMoment, oneMinusAccBeta1);
      const biasCorrectedSecondMoment = tf.div(newSecondMoment, oneMinusAccBeta2);
      this.m.assign(newFirstMoment);
      this.v.assign(newSecondMoment);
      const newValue = tf.add(tf.mul(tf.div(biasCorrectedFirstMoment, tf.add(tf.sqrt(biasCorrectedSecondMoment), this.epsilon)), -lr), value);
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
      return newValue;
    });
  }

  /** FusedAdam (native, webgpu): one kernel, the same bits as the element-wise path on the same backend; the beta powers advance on the CPU (see accBeta) and are uploaded. */
  private fusedUpdate(value: Tensor, gradient: Tensor, lr: number): Tensor {
    const tf = this.tf;
    const attrs: FusedAdamAttrs = { beta1: this.beta1, beta2: this.beta2, lr, epsilon: this.epsilon };
    const [newValue, newM, newV] = tf.engine().runKernel(FUSED_ADAM, { value, gradient, m: this.m, v: this.v, accBeta1: this.accBeta1, accBeta2: this.accBeta2 }, attrs as never) as Tensor[];
    this.m.assign(newM!);
    this.v.assign(newV!);
    tf.dispose([newM!, newV!]);
    this.uploadNextBetaPowers();
    return newValue!;
  }

  /** The beta powers after this update, uploaded as the CPU forms them (see accBeta). */
  private uploadNextBetaPowers(): void {
    const tf = this.tf;
    const f = Math.fround;
    tf.tidy(() => {
      this.accBeta1.assign(tf.scalar(f(this.accBeta[0] * f(this.beta1))));
      this.accBeta2.assign(tf.scalar(f(this.accBeta[1] * f(this.beta2))));
    });
  }

  /** After an update: the beta powers advanced on the CPU as on the backend, and the step counted. */
  private countStep(): void {
    const f = Math.fround;
    this.accBeta = [f(this.accBeta[0] * f(this.beta1)), f(this.accBeta[1] * f(this.beta2))];
    this.iterations++;
  }

  /** Floats in `exportState`'s vector for a model of `size` parameters. */
  static stateSize(size: number): number {
    return adamStateSize(size);
  }

  /**
   * Everything the next update depends on, as one vector: the step counter, the
   * two accumulated beta powers as they are (recomputing them would round
   * differently), then both moments. Exact for up to 2^24 steps. Checkpoints
   * store it and the replica hash covers it.
   */
  async exportState(): Promise<Float32Array> {
    const flat = this.tf.tidy(() => this.tf.concat([this.tf.tensor1d([this.iterations]), this.accBeta1.reshape([1]), this.accBeta2.reshape([1]), this.m, this.v]));
    try {
      return new Float32Array(await flat.data());
    } finally {
      flat.dispose();
    }
  }

  /**
   * exportState's vector in pieces, in its order, without building it: the step counter as one
   * float32, then the tensors it concatenates (for hashing the state without a copy).
   */
  stateParts(): { iterations: Float32Array; tensors: Tensor[] } {
    return { iterations: Float32Array.of(this.iterations), tensors: [this.accBeta1, this.accBeta2, this.m, this.v] };
  }

  importState(state: Float32Array): void {
    const size = this.m.size;
    if (state.length !== FlatAdam.stateSize(size)) throw new RangeError(`optimizer state has ${state.length} values, expected ${FlatAdam.stateSize(size)}`);
    const tf = this.tf;
    tf.tidy(() => {
      this.accBeta1.assign(tf.scalar(state[1]!));
      this.accBeta2.assign(tf.scalar(state[2]!));
      this.m.assign(tf.tensor1d(state.subarray(3, 3 + size)));
      this.v.assign(tf.tensor1d(state.subarray(3 + size)));
    });
    this.iterations = state[0]!;
    this.accBeta = [state[1]!, state[2]!];
  }

  /**
   * The state as it stands, to restore later. Tensors are immutable and an assign
   * repoints a variable at new data, so a snapshot holds references, not copies.
   */
  snapshot(): AdamSnapshot {
    return { tensors: [this.m, this.v, this.accBeta1, this.accBeta2].map((t) => this.tf.keep(t.clone())), iterations: this.iterations, accBeta: [...this.accBeta] };
  }

  restore(snap: AdamSnapshot): void {
    [this.m, this.v, this.accBeta1, this.accBeta2].forEach((t, i) => t.assign(snap.tensors[i]!));
    this.iterations = snap.iterations;
    this.accBeta = [...snap.accBeta];
  }

  dispose(): void {
    this.tf.dispose([this.m, this.v, this.accBeta1, this.accBeta2]);
  }
}
