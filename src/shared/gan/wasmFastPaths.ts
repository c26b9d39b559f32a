import type { Tf } from './tf.js';

type KernelConfig = NonNullable<ReturnType<Tf['getKernel']>>;
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];
type TensorInfo = { dataId: object; shape: number[]; dtype: string };

const patched = new WeakSet<object>();

/**
 * tfjs's wasm matrix product is an order of magnitude slower with transposeA or
 * transposeB set, which every backward pass of a dense layer asks for. Wrapping
 * the kernels to transpose the operand explicitly first (a cheap copy) and then
 * run the plain product gives the same bits far faster. Both BatchMatMul and
 * _FusedMatMul are wrapped. Idempotent; a no-op on other backends.
 */
export function installWasmMatMulFastPath(tf: Tf): boolean {
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (!transposeKernel) return false;
  let installed = false;
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const original = tf.getKernel(name, 'wasm');
    if (!original || patched.has(original)) continue;
    const transposeLast2 = (x: TensorInfo, backend: KernelArgs['backend']): TensorInfo => {
      const perm = x.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
      return transposeKernel.kernelFunc({ inputs: { x } as never, backend, attrs: { perm } }) as TensorInfo;
    };
    const kernelFunc: KernelConfig['kernelFunc'] = (args: KernelArgs) => {
      const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
      const inputs = { ...(args.inputs as Record<string, TensorInfo>) };
      const temps: TensorInfo[] = [];
      if (attrs.transposeA) temps.push((inputs.a = transposeLast2(inputs.a!, args.backend)));
      if (attrs.transposeB) temps.push((inputs.b = transposeLast2(inputs.b!, args.backend)));
      try {
        return original.kernelFunc({ ...args, inputs: inputs as never, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
      } finally {
        for (const t of temps) (args.backend as { disposeData(id: object): void }).disposeData(t.dataId);
      }
    };
    const replacement: KernelConfig = { ...original, kernelFunc };
    patched.add(replacement);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(replacement);
    installed = true;
  }
  return installed;
}
