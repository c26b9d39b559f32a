type Numbers = { [i: number]: number; length: number; copyWithin(target: number, start: number, end: number): unknown };

/**
 * out = x repeated reps[d] times along each axis d (row-major), as tf.tile.
 * The innermost axis is written element by element; every outer repetition is
 * one block copy (copyWithin), so broadcasting a vector over a large tensor —
 * what batch norm's gradient asks for — costs a few memcpys.
 */
export function tileInto(x: Numbers, shape: number[], reps: number[], out: Numbers): void {
  const rank = shape.length;
  if (reps.length !== rank) throw new RangeError(`tile: ${reps.length} repetitions for rank ${rank}`);
  if (rank === 0) {
    out[0] = x[0]!;
    return;
  }
  const outShape = shape.map((s, i) => s * reps[i]!);
  // Elements in one index step of axis d, for x and for out.
  const xStride = new Array<number>(rank);
  const outStride = new Array<number>(rank);
  xStride[rank - 1] = 1;
  outStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    xStride[d] = xStride[d + 1]! * shape[d + 1]!;
    outStride[d] = outStride[d + 1]! * outShape[d + 1]!;
  }
  const fill = (d: number, xOff: number, oOff: number): void => {
    const n = shape[d]!;
    if (d === rank - 1) {
      for (let i = 0; i < n; i++) out[oOff + i] = x[xOff + i]!;
    } else {
      for (let i = 0; i < n; i++) fill(d + 1, xOff + i * xStride[d]!, oOff + i * outStride[d]!);
    }
    const block = n * outStride[d]!;
    for (let r = 1; r < reps[d]!; r++) out.copyWithin(oOff + r * block, oOff, oOff + block);
  };
  fill(0, 0, 0);
}
