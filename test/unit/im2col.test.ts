import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConvGeometry, col2im, im2colTransposed, patchMatrixShape } from '../../src/shared/gan/im2col.js';
import { tileInto } from '../../src/shared/gan/tile.js';
import { Rng } from '../../src/shared/rng.js';

const geometries: ConvGeometry[] = [
  // The DCGAN's second discriminator convolution, at batch 2.
  { batch: 2, inH: 14, inW: 14, inC: 64, outH: 7, outW: 7, outC: 128, kH: 4, kW: 4, strideH: 2, strideW: 2, padTop: 1, padLeft: 1 },
  // Odd everything: non-square, asymmetric padding, stride 1 and 3, one channel.
  { batch: 3, inH: 9, inW: 7, inC: 3, outH: 5, outW: 4, outC: 2, kH: 3, kW: 4, strideH: 2, strideW: 2, padTop: 1, padLeft: 2 },
  { batch: 1, inH: 5, inW: 6, inC: 1, outH: 5, outW: 6, outC: 4, kH: 3, kW: 3, strideH: 1, strideW: 1, padTop: 1, padLeft: 1 },
  { batch: 2, inH: 10, inW: 8, inC: 2, outH: 3, outW: 2, outC: 1, kH: 2, kW: 3, strideH: 3, strideW: 3, padTop: 0, padLeft: 0 },
];

function random(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** The definition, one entry at a time. */
function naivePatch(x: Float32Array, g: ConvGeometry, row: number, col: number): number {
  const ow = row % g.outW;
  const oh = Math.floor(row / g.outW) % g.outH;
  const b = Math.floor(row / (g.outW * g.outH));
  const c = col % g.inC;
  const kw = Math.floor(col / g.inC) % g.kW;
  const kh = Math.floor(col / (g.inC * g.kW));
  const ih = oh * g.strideH + kh - g.padTop;
  const iw = ow * g.strideW + kw - g.padLeft;
  if (ih < 0 || ih >= g.inH || iw < 0 || iw >= g.inW) return 0;
  return x[((b * g.inH + ih) * g.inW + iw) * g.inC + c]!;
}

/** The patch matrix by its definition. */
function naiveCols(x: Float32Array, g: ConvGeometry): Float32Array {
  const [m, k] = patchMatrixShape(g);
  const cols = new Float32Array(m * k);
  for (let r = 0; r < m; r++) for (let c = 0; c < k; c++) cols[r * k + c] = naivePatch(x, g, r, c);
  return cols;
}

test('the transposed patch matrix equals the definition entry by entry', () => {
  geometries.forEach((g, i) => {
    const x = random(g.batch * g.inH * g.inW * g.inC, i);
    const [m, k] = patchMatrixShape(g);
    // The transposed form reads the input channel-major: [c, b, h, w].
    const pixels = g.batch * g.inH * g.inW;
    const channelMajor = new Float32Array(x.length);
    for (let p = 0; p < pixels; p++) for (let c = 0; c < g.inC; c++) channelMajor[c * pixels + p] = x[p * g.inC + c]!;
    const colsT = new Float32Array(m * k).fill(NaN);
    im2colTransposed(channelMajor, g, colsT);
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < k; c++) {
        assert.equal(colsT[c * m + r], naivePatch(x, g, r, c), `geometry ${i}: colsT[${c}, ${r}]`);
      }
    }
  });
});

test('col2im is the adjoint of im2col: <im2col(x), y> = <x, col2im(y)>', () => {
  geometries.forEach((g, i) => {
    const n = g.batch * g.inH * g.inW * g.inC;
    const [m, k] = patchMatrixShape(g);
    const x = random(n, 10 + i);
    const y = random(m * k, 20 + i);
    const cols = naiveCols(x, g);
    const back = new Float32Array(n).fill(NaN);
    col2im(y, g, back);
    let lhs = 0;
    let rhs = 0;
    for (let j = 0; j < m * k; j++) lhs += cols[j]! * y[j]!;
    for (let j = 0; j < n; j++) rhs += x[j]! * back[j]!;
    assert.ok(Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, Math.abs(lhs)), `geometry ${i}: ${lhs} vs ${rhs}`);
  });
});

test('tileInto repeats along every axis as tf.tile does', () => {
  const cases: Array<[number[], number[]]> = [[[1, 1, 1, 5], [2, 3, 4, 1]], [[2, 3], [3, 2]], [[4], [3]], [[2, 1, 3], [1, 4, 2]], [[], []]];
  for (const [shape, reps] of cases) {
    const size = shape.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: size }, (_, i) => i + 1);
    const outShape = shape.map((s, i) => s * reps[i]!);
    const out = new Float32Array(outShape.reduce((a, b) => a * b, 1)).fill(NaN);
    tileInto(x, shape, reps, out);
    for (let j = 0; j < out.length; j++) {
      // Unravel j in outShape, wrap each coordinate into shape, ravel in shape.
      let rest = j;
      let src = 0;
      let stride = 1;
      for (let d = shape.length - 1; d >= 0; d--) {
        const coord = rest % outShape[d]!;
        rest = Math.floor(rest / outShape[d]!);
        src += (coord % shape[d]!) * stride;
        stride *= shape[d]!;
      }
      assert.equal(out[j], x[src], `shape [${shape}] reps [${reps}]: out[${j}]`);
    }
  }
  assert.throws(() => tileInto(new Float32Array(2), [2], [1, 2], new Float32Array(4)), /2 repetitions for rank 1/);
});
