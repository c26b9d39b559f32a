/**
 * Convolution as a matrix product: the patch matrix of an NHWC input (im2col,
 * built transposed) and its adjoint (col2im). With them, both convolution gradients become one
 * plain matrix product, which the wasm backend runs an order of magnitude
 * faster than its direct loops. Pure functions over flat arrays.
 */

/** One 2-D convolution, channels last, dilation 1: x [batch, inH, inW, inC] → y [batch, outH, outW, outC]. */
export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/** Rows and columns of the patch matrix: one row per output pixel, one column per (kh, kw, inC). */
export function patchMatrixShape(g: ConvGeometry): [rows: number, cols: number] {
  return [g.batch * g.outH * g.outW, g.kH * g.kW * g.inC];
}

/**
 * The adjoint of im2col, where the patch matrix is
 * cols[(b, oh, ow), (kh, kw, c)] = x[b, oh·sH + kh − padTop, ow·sW + kw − padLeft, c]
 * (zero over the padding): every patch entry is added back to the input pixel
 * it came from; entries over the padding are dropped. `dx` is overwritten.
 */
export function col2im(cols: Float32Array, g: ConvGeometry, dx: Float32Array): void {
  const { batch, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft } = g;
  dx.fill(0, 0, batch * inH * inW * inC);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const xb = b * inH * inW * inC;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let kh = 0; kh < kH; kh++) {
          const ih = oh * strideH + kh - padTop;
          for (let kw = 0; kw < kW; kw++, o += inC) {
            const iw = ow * strideW + kw - padLeft;
            if (ih < 0 || ih >= inH || iw < 0 || iw >= inW) continue;
            const d = xb + (ih * inW + iw) * inC;
            for (let c = 0; c < inC; c++) dx[d + c]! += cols[o + c]!;
          }
        }
      }
    }
  }
}

/**
 * The patch matrix transposed, colsT[(kh, kw, c), (b, oh, ow)], from the input
 * in channel-major layout xc [c, b, h, w] (so that each row reads one image row
 * with a stride of strideW). With it the filter gradient colsT · dy is one plain
 * product with the big matrix on the left, which the wasm kernel does not repack.
 */
export function im2colTransposed(xc: Float32Array, g: ConvGeometry, colsT: Float32Array): void {
  const { batch, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft } = g;
  let o = 0;
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      // Output columns whose window column falls inside the image: ow in [owLo, owHi).
      const owLo = Math.min(outW, Math.max(0, Math.ceil((padLeft - kw) / strideW)));
      const owHi = Math.max(owLo, Math.min(outW, Math.ceil((inW + padLeft - kw) / strideW)));
      for (let c = 0; c < inC; c++) {
        for (let b = 0; b < batch; b++) {
          const plane = (c * batch + b) * inH * inW;
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh * strideH + kh - padTop;
            // Rows are short (outW): plain loops, no fill() calls.
            if (ih < 0 || ih >= inH) {
              for (let ow = 0; ow < outW; ow++) colsT[o++] = 0;
              continue;
            }
            for (let ow = 0; ow < owLo; ow++) colsT[o++] = 0;
            let s = plane + ih * inW + owLo * strideW + kw - padLeft;
            for (let ow = owLo; ow < owHi; ow++, s += strideW) colsT[o++] = xc[s]!;
            for (let ow = owHi; ow < outW; ow++) colsT[o++] = 0;
          }
        }
      }
    }
  }
}
