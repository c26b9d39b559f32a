/** Whether every value is finite: one pass, x − x is NaN exactly for NaN and ±Infinity. */
export function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x - x !== 0) return false;
  }
  return true;
}
