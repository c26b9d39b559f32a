import type { Tf } from './tf.js';
import { BATCH_NORM_GRAD_BETA_KERNEL, BATCH_NORM_GRAD_GAMMA_KERNEL, BATCH_NORM_GRAD_INPUT_KERNEL, BATCH_NORM_KERNEL, BATCH_NORM_MOVING_KERNEL, type BatchNormActivation, type BatchNormAttrs as Attrs,
  batchNormAttrs as attrsOf, batchNormMovingAttrs, registerBatchNormGradient } from './batchNormOp.js';

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WebgpuBackend {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}

/**
 * The batch-norm op (batchNormOp.ts) on webgpu: one program forward, one per
 * moving statistic and one per gradient.
 *
 * Every program runs one workgroup per channel: it reduces the channel's
 * values (mean, then variance about it, as tfjs's `moments` does) in
 * workgroup memory and then writes that channel's outputs. The batch
 * statistics are formed again by each program that needs them instead of
 * being passed between programs: a program has one output, and slicing a
 * second one out would cost a dispatch.
 */
const THREADS = 64;

/** Channel reductions in workgroup memory; called by every thread of the workgroup (the barriers need it). */
const REDUCE = `
  var<workgroup> partial : array<f32, ${THREADS}>;
  fn reduceSum(value : f32, t : i32) -> f32 {
    partial[t] = value;
    workgroupBarrier();
    for (var s = ${THREADS / 2}; s > 0; s = s >> 1u) {
      if (t < s) {
        partial[t] = partial[t] + partial[t + s];
      }
      workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
  }
  fn channelMean(c : i32, t : i32) -> f32 {
    var s = 0.0;
    for (var i = t; i < uniforms.m; i += ${THREADS}) {
      s = s + x[i * uniforms.channels + c];
    }
    return reduceSum(s, t) / f32(uniforms.m);
  }
  fn channelVariance(c : i32, t : i32, mean : f32) -> f32 {
    var s = 0.0;
    for (var i = t; i < uniforms.m; i += ${THREADS}) {
      let d = x[i * uniforms.channels + c] - mean;
      s = s + d * d;
    }
    return reduceSum(s, t) / f32(uniforms.m);
  }`;

/** dL/dz from dy and the output y (ReLU's gradient as tfjs forms it: dy · step(x), and y > 0 exactly where x > 0). */
function dz(act: BatchNormActivation): string {
  return act === 'relu' ? 'fn dz(i : i32) -> f32 { return select(0.0, dy[i], y[i] > 0.0); }' : 'fn dz(i : i32) -> f32 { return dy[i]; }';
}

class ChannelProgram {
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [THREADS, 1, 1];
  readonly uniforms = 'm : i32, channels : i32, epsilon : f32, decay : f32,';

  constructor(readonly variableNames: string[], key: string, outputShape: number[], channels: number, private readonly body: string) {
    this.outputShape = outputShape;
    this.shaderKey = key;
    this.dispatch = [channels, 1, 1];
  }

  getUserCode(): string {
    return `
      ${REDUCE}
      ${this.body}`;
  }
}

const HEAD = `
        let c = i32(workgroupId.x);
        let t = i32(localId.x);
        let mean = channelMean(c, t);
        let variance = channelVariance(c, t, mean);
        let invStd = inverseSqrt(variance + uniforms.epsilon);`;

function forward(act: BatchNormActivation, shape: number[], channels: number): ChannelProgram {
  const value = '(x[i] - mean) * (invStd * gamma[c]) + beta[c]';
  return new ChannelProgram(['x', 'gamma', 'beta'], `trainerBatchNorm_${act}`, shape, channels, `
      fn main(index : i32) {
        ${HEAD}
        for (var j = t; j < uniforms.m; j += ${THREADS}) {
          let i = j * uniforms.channels + c;
          let v = ${value};
          result[i] = ${act === 'relu' ? 'max(v, 0.0)' : 'v'};
        }
      }`);
}

/** moving − (moving − batch statistic) · (1 − momentum), as tfjs-layers' BatchNormalization updates it. */
function moving(which: 'mean' | 'variance', channels: number): ChannelProgram {
  return new ChannelProgram(['x', 'moving'], `trainerBatchNormMoving_${which}`, [channels], channels, `
      fn main(index : i32) {
        ${HEAD}
        if (t == 0) {
          let old = moving[c];
          result[c] = old - (old - ${which === 'mean' ? 'mean' : 'variance'}) * uniforms.decay;
        }
      }`);
}

/** Σ dz (beta) or Σ dz·x̂ (gamma) over the channel. */
function gradParam(which: 'gamma' | 'beta', act: BatchNormActivation, channels: number): ChannelProgram {
  const inputs = ['x', 'dy', ...(act === 'relu' ? ['y'] : [])];
  return new ChannelProgram(inputs, `trainerBatchNormGrad_${which}_${act}`, [channels], channels, `
      ${dz(act)}
      fn main(index : i32) {
        ${HEAD}
        var s = 0.0;
        for (var j = t; j < uniforms.m; j += ${THREADS}) {
          let i = j * uniforms.channels + c;
          s = s + dz(i)${which === 'gamma' ? ' * ((x[i] - mean) * invStd)' : ''};
        }
        let total = reduceSum(s, t);
        if (t == 0) {
          result[c] = total;
        }
      }`);
}

/** dx = γ·σ⁻¹/m · (m·dz − Σdz − x̂·Σdz·x̂): the batch statistics depend on x. */
function gradInput(act: BatchNormActivation, shape: number[], channels: number): ChannelProgram {
  const inputs = ['x', 'dy', ...(act === 'relu' ? ['y'] : []), 'gamma'];
  return new ChannelProgram(inputs, `trainerBatchNormGradInput_${act}`, shape, channels, `
      ${dz(act)}
      fn main(index : i32) {
        ${HEAD}
        var a = 0.0;
        var b = 0.0;
        for (var j = t; j < uniforms.m; j += ${THREADS}) {
          let i = j * uniforms.channels + c;
          a = a + dz(i);
          b = b + dz(i) * ((x[i] - mean) * invStd);
        }
        let sumDz = reduceSum(a, t);
        let sumDzXhat = reduceSum(b, t);
        let m = f32(uniforms.m);
        let scale = gamma[c] * invStd / m;
        for (var j = t; j < uniforms.m; j += ${THREADS}) {
          let i = j * uniforms.channels + c;
          result[i] = scale * ((m * dz(i) - sumDz) - ((x[i] - mean) * invStd) * sumDzXhat);
        }
      }`);
}

/** Registers the batch-norm kernels for the webgpu backend and the op's gradient (call after the backend is registered). Idempotent. */
export function installWebgpuBatchNorm(tf: Tf): void {
  if (tf.getKernel(BATCH_NORM_KERNEL, 'webgpu')) return;
  const run = (backend: unknown, x: TensorInfo, program: ChannelProgram, inputs: TensorInfo[], attrs: Attrs): never => {
    const channels = x.shape[x.shape.length - 1]!;
    const uniforms = [
      { type: 'int32', data: [x.shape.reduce((p, q) => p * q, 1) / channels] }, { type: 'int32', data: [channels] },
      { type: 'float32', data: [attrs.epsilon] }, { type: 'float32', data: [1 - (attrs.momentum ?? 0)] },
    ];
    return (backend as WebgpuBackend).runWebGPUProgram(program, inputs, 'float32', uniforms) as never;
  };
  const channelsOf = (x: TensorInfo): number => x.shape[x.shape.length - 1]!;
  type Inputs = Record<'x' | 'gamma' | 'beta' | 'moving' | 'dy' | 'y', TensorInfo>;
  const kernels: Array<[string, (i: Inputs, a: Attrs) => [ChannelProgram, TensorInfo[]]]> = [
    [BATCH_NORM_KERNEL, (i, a) => [forward(a.activation, i.x.shape, channelsOf(i.x)), [i.x, i.gamma, i.beta]]],
    [BATCH_NORM_GRAD_INPUT_KERNEL, (i, a) => [gradInput(a.activation, i.x.shape, channelsOf(i.x)), [i.x, i.dy, ...(a.activation === 'relu' ? [i.y] : []), i.gamma]]],
    [BATCH_NORM_GRAD_GAMMA_KERNEL, (i, a) => [gradParam('gamma', a.activation, channelsOf(i.x)), [i.x, i.dy, ...(a.activation === 'relu' ? [i.y] : [])]]],
    [BATCH_NORM_GRAD_BETA_KERNEL, (i, a) => [gradParam('beta', a.activation, channelsOf(i.x)), [i.x, i.dy, ...(a.activation === 'relu' ? [i.y] : [])]]],
  ];
  for (const [kernelName, make] of kernels) {
    tf.registerKernel({
      kernelName,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const a = attrsOf(attrs);
        const [program, bound] = make(inputs as unknown as Inputs, a);
        return run(backend, (inputs as unknown as Inputs).x, program, bound, a);
      },
    });
  }
  tf.registerKernel({
    kernelName: BATCH_NORM_MOVING_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, moving: m } = inputs as unknown as Inputs;
      const a = batchNormMovingAttrs(attrs);
      return run(backend, x, moving(a.which, channelsOf(x)), [x, m], a);
    },
  });
  registerBatchNormGradient(tf);
}
