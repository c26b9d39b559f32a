import { ProtocolError } from '../errors.js';
import type { Compression } from '../config.js';

/**
 * 16-bit wire formats for gradients (--compression fp16|bf16). Pure loops over
 * typed arrays; the all-reduces sum in float32 and only the wire is 16-bit.
 *
 * Written here rather than taken from @petamoriken/float16: its per-element
 * setFloat16/Float16Array.from convert about 100× slower than these loops
 * (32 ms against 0.3 ms for the MLP's 267k-float chunk on this machine), and the
 * whole point is to spend less time than the bytes saved.
 *
 * Rounding is to nearest, ties to even, in both formats. Finite values beyond
 * the format's largest finite value are clamped to it (fp16: ±65504), never
 * turned into infinities; ±Infinity and NaN stay what they are, so a step whose
 * gradients blew up is still recognized and skipped on every replica.
 */
export type WireData = Float32Array | Uint16Array;

export interface WireCodec {
  readonly name: Exclude<Compression, 'none'>;
  /** dst[i] = the 16-bit encoding of src[i]. */
  encode(src: Float32Array, dst: Uint16Array): void;
  /** dst[i] = encode(src[i]), and src[i] becomes the value dst[i] stands for (the rounded value every rank applies). */
  encodeRounding(src: Float32Array, dst: Uint16Array): void;
  /** dst[i] = decode(src[i]). */
  decodeInto(src: Uint16Array, dst: Float32Array): void;
  /** dst[i] += decode(src[i]), in float32. */
  addInto(src: Uint16Array, dst: Float32Array): void;
  /** dst[i] = (dst[i] + decode(src[i])) × factor, rounded to float32 after each operation. */
  addScaledInto(src: Uint16Array, dst: Float32Array, factor: number): void;
}

const F16_MAX_FINITE = 0x7bff;

/** The fp16 bits nearest to the float32 with bits `b` (ties to even); finite values beyond ±65504 clamp to it. */
export function f32BitsToF16(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const abs = b & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00);
  // 65520 and up would round to infinity.
  if (abs >= 0x477ff000) return sign | F16_MAX_FINITE;
  if (abs >= 0x38800000) {
    // Normal: rebias the exponent (127 -> 15) and drop 13 mantissa bits, rounding; a carry moves into the exponent correctly.
    const m = abs - 0x38000000;
    return sign | ((m + 0x0fff + ((m >>> 13) & 1)) >>> 13);
  }
  // Below half the smallest subnormal (2^-25, itself a tie that goes to the even 0).
  if (abs <= 0x33000000) return sign;
  // Subnormal: the 24-bit significand shifted down to units of 2^-24.
  const shift = 126 - (abs >>> 23);
  const mant = (abs & 0x7fffff) | 0x800000;
  const q = mant >>> shift;
  const rem = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return sign | (q + (rem > half || (rem === half && (q & 1) === 1) ? 1 : 0));
}

/** The value of fp16 bits `h`. */
export function f16ToNumber(h: number): number {
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The bf16 bits nearest to the float32 with bits `b` (ties to even); finite values clamp to ±max finite bf16; NaN stays a (quiet) NaN. */
export function f32BitsToBf16(b: number): number {
  const abs = b & 0x7fffffff;
  if (abs > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  if (abs === 0x7f800000) return b >>> 16;
  const r = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  return (r & 0x7fff) === 0x7f80 ? r - 1 : r;
}

// Decoding fp16 is a table look-up: all 65536 values, 256 KiB, built once.
let f16Table: Float32Array | undefined;
function f16Values(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToNumber(h);
  }
  return f16Table;
}

const bitsOf = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

function checkLengths(src: { length: number }, dst: { length: number }): void {
  if (src.length !== dst.length) throw new RangeError(`wire conversion of ${src.length} values into ${dst.length}`);
}

// Each loop is its own small function, as ring.ts's adds are: V8 optimizes them best that way.
const fp16: WireCodec = {
  name: 'fp16',
  encode(src, dst) {
    checkLengths(src, dst);
    const bits = bitsOf(src);
    for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToF16(bits[i]!);
  },
  encodeRounding(src, dst) {
    checkLengths(src, dst);
    const bits = bitsOf(src);
    const table = f16Values();
    for (let i = 0; i < bits.length; i++) {
      const h = f32BitsToF16(bits[i]!);
      dst[i] = h;
      src[i] = table[h]!;
    }
  },
  decodeInto(src, dst) {
    checkLengths(src, dst);
    const table = f16Values();
    for (let i = 0; i < src.length; i++) dst[i] = table[src[i]!]!;
  },
  addInto(src, dst) {
    checkLengths(src, dst);
    const table = f16Values();
    for (let i = 0; i < src.length; i++) dst[i]! += table[src[i]!]!;
  },
  addScaledInto(src, dst, factor) {
    checkLengths(src, dst);
    const table = f16Values();
    for (let i = 0; i < src.length; i++) dst[i] = Math.fround(dst[i]! + table[src[i]!]!) * factor;
  },
};

// bf16 is the top half of a float32: decoding shifts the bits back into place.
const bf16: WireCodec = {
  name: 'bf16',
  encode(src, dst) {
    checkLengths(src, dst);
    const bits = bitsOf(src);
    for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToBf16(bits[i]!);
  },
  encodeRounding(src, dst) {
    checkLengths(src, dst);
    const bits = bitsOf(src);
    for (let i = 0; i < bits.length; i++) {
      const h = f32BitsToBf16(bits[i]!);
      dst[i] = h;
      bits[i] = h << 16;
    }
  },
  decodeInto(src, dst) {
    checkLengths(src, dst);
    const bits = bitsOf(dst);
    for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  },
  addInto(src, dst) {
    checkLengths(src, dst);
    const scratch = new Float32Array(1);
    const scratchBits = bitsOf(scratch);
    for (let i = 0; i < src.length; i++) {
      scratchBits[0] = src[i]! << 16;
      dst[i]! += scratch[0]!;
    }
  },
  addScaledInto(src, dst, factor) {
    checkLengths(src, dst);
    const scratch = new Float32Array(1);
    const scratchBits = bitsOf(scratch);
    for (let i = 0; i < src.length; i++) {
      scratchBits[0] = src[i]! << 16;
      dst[i] = Math.fround(dst[i]! + scratch[0]!) * factor;
    }
  },
};

/** The codec of a compression mode; undefined for 'none' (float32 on the wire). */
export function wireCodec(compression: Compression): WireCodec | undefined {
  return compression === 'fp16' ? fp16 : compression === 'bf16' ? bf16 : undefined;
}

/** Gradients as they go on the wire: the 16-bit encoding of `grads`, or `grads` itself without a codec. */
export function toWire(grads: Float32Array, codec: WireCodec | undefined): WireData {
  if (!codec) return grads;
  const out = new Uint16Array(grads.length);
  codec.encode(grads, out);
  return out;
}

/**
 * Float32 values of wire data that must be in this run's format (a peer with
 * another --compression is a protocol error, not a value to misread). A 16-bit
 * array is decoded into a fresh buffer; float32 is returned as is.
 */
export function fromWire(data: WireData, codec: WireCodec | undefined, what: string): Float32Array {
  if (!codec) {
    if (!(data instanceof Float32Array)) throw new ProtocolError(`${what}: 16-bit values, but this run sends float32 (--compression none)`);
    return data;
  }
  if (!(data instanceof Uint16Array)) throw new ProtocolError(`${what}: float32 values, but this run sends ${codec.name} (--compression ${codec.name})`);
  const out = new Float32Array(data.length);
  codec.decodeInto(data, out);
  return out;
}
