import { GAN_LOSS_GRAD_KERNEL, GAN_LOSS_KERNEL, ganLossAttrs, registerGanLossGradient } from './ganLossOp.js';
import type { Tf } from './tf.js';

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WebgpuBackend {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}

/**
 * The GAN loss op (ganLossOp.ts) on webgpu: the loss in one thread (a batch has
 * at most a few thousand logits, and a dispatch costs more than that loop), its
 * gradient one thread per logit.
 */
class GanLossProgram {
  readonly variableNames = ['logits'];
  readonly outputShape = [3];
  readonly shaderKey = 'trainerGanLoss';
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number] = [1, 1, 1];
  readonly workgroupSize: [number, number, number] = [1, 1, 1];
  readonly uniforms = 'n : i32, positives : i32, realLabel : f32,';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index == 0) {
          var loss = array<f32, 2>(0.0, 0.0);
          var prob = array<f32, 2>(0.0, 0.0);
          for (var i = 0; i < uniforms.n; i++) {
            let x = logits[i];
            let part = select(1, 0, i < uniforms.positives);
            let z = select(0.0, uniforms.realLabel, part == 0);
            loss[part] = loss[part] + ((max(x, 0.0) - x * z) + log(1.0 + exp(-abs(x))));
            prob[part] = prob[part] + 1.0 / (1.0 + exp(-x));
          }
          let counts = vec2<f32>(f32(uniforms.positives), f32(uniforms.n - uniforms.positives));
          var total = 0.0;
          var means = vec2<f32>(0.0, 0.0);
          for (var p = 0; p < 2; p++) {
            if (counts[p] > 0.0) {
              total = total + loss[p] / counts[p];
              means[p] = prob[p] / counts[p];
            }
          }
          result[0] = total;
          result[1] = means[0];
          result[2] = means[1];
        }
      }`;
  }
}

class GanLossGradProgram {
  readonly variableNames = ['logits', 'dy'];
  readonly outputShape: number[];
  readonly shaderKey = 'trainerGanLossGrad';
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly uniforms = 'n : i32, positives : i32, realLabel : f32,';

  constructor(shape: number[], n: number) {
    this.outputShape = shape;
    this.dispatch = [Math.ceil(n / 64), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.n) {
          let x = logits[index];
          let positive = index < uniforms.positives;
          let z = select(0.0, uniforms.realLabel, positive);
          let count = select(f32(uniforms.n - uniforms.positives), f32(uniforms.positives), positive);
          result[index] = (1.0 / (1.0 + exp(-x)) - z) / count * dy[0];
        }
      }`;
  }
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Registers the loss kernels for the webgpu backend and the op's gradient (call after the backend is registered). Idempotent. */
export function installWebgpuGanLoss(tf: Tf): void {
  if (tf.getKernel(GAN_LOSS_KERNEL, 'webgpu')) return;
  const uniforms = (n: number, attrs: unknown): Array<{ type: string; data: number[] }> => {
    const { positives, realLabel } = ganLossAttrs(n, attrs);
    return [{ type: 'int32', data: [n] }, { type: 'int32', data: [positives] }, { type: 'float32', data: [realLabel] }];
  };
  tf.registerKernel({
    kernelName: GAN_LOSS_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { logits } = inputs as unknown as { logits: TensorInfo };
      const n = size(logits.shape);
      return (backend as unknown as WebgpuBackend).runWebGPUProgram(new GanLossProgram(), [logits], 'float32', uniforms(n, attrs)) as never;
    },
  });
  tf.registerKernel({
    kernelName: GAN_LOSS_GRAD_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { logits, dy } = inputs as unknown as { logits: TensorInfo; dy: TensorInfo };
      const n = size(logits.shape);
      return (backend as unknown as WebgpuBackend).runWebGPUProgram(new GanLossGradProgram(logits.shape, n), [logits, dy], 'float32', uniforms(n, attrs)) as never;
    },
  });
  registerGanLossGradient(tf);
}
