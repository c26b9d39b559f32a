// The native batch-norm kernels on one 64×14×14×64 tensor (the DCGAN generator's largest), ms a call over 200 calls: node docs/measurements/ceiling-2026-12-04/bn-kernels.mjs (after npm run build).
// Its first version (plain loops, not committed) gave: forward 0.378, gradInput 1.679, gradGamma 0.937, moving 0.277 ms; bn-kernels.txt is the committed build.
import { loadNativeAddon } from '../../../dist/src/shared/compute/nativeAddon.js';
const a = loadNativeAddon();
const rows = 64 * 14 * 14, ch = 64;
const heap = new ArrayBuffer(64 << 20);
const f = new Float32Array(heap);
for (let i = 0; i < rows * ch * 3; i++) f[i] = Math.sin(i);
const xOff = 0, dyOff = rows * ch * 4, yOff = 2 * rows * ch * 4, gOff = 3 * rows * ch * 4, outOff = gOff + 4096;
for (let i = 0; i < ch; i++) f[gOff / 4 + i] = 1;
for (const [name, fn] of [['forward', () => a.batchNorm(heap, xOff, gOff, gOff, outOff, rows, ch, 1e-3, 1)], ['gradInput', () => a.batchNormGrad(heap, xOff, dyOff, yOff, gOff, outOff, rows, ch, 1e-3, 0)], ['gradGamma', () => a.batchNormGrad(heap, xOff, dyOff, yOff, gOff, outOff, rows, ch, 1e-3, 1)], ['moving', () => a.batchNormMoving(heap, xOff, gOff, outOff, rows, ch, 1, 0.01)]]) {
  for (let i = 0; i < 20; i++) fn();
  const t = performance.now(); for (let i = 0; i < 200; i++) fn(); console.log(name, ((performance.now() - t) / 200).toFixed(3), 'ms for', rows * ch, 'values');
}
