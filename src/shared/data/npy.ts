import { DataFormatError } from '../errors.js';

/** A numeric array read from a NumPy .npy file: values widened to float64 (exact for u1, f4 and f8). */
export interface NpyArray {
  shape: number[];
  dtype: 'u1' | 'f4' | 'f8';
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(buf: Uint8Array): boolean {
  return buf.length >= 6 && MAGIC.every((b, i) => buf[i] === b);
}

/**
 * Parses a .npy file (format versions 1–3): little-endian or byte-sized dtypes u1, f4, f8, C order only.
 * The header is a Python dict literal; this reads its three keys and refuses anything else.
 * (No npm package reads .npy without also pulling a fetch client; the format is a few lines.)
 */
export function parseNpy(buf: Uint8Array, name: string): NpyArray {
  if (!isNpy(buf)) throw new DataFormatError(`${name}: not a .npy file (no \\x93NUMPY magic)`);
  if (buf.length < 10) throw new DataFormatError(`${name}: .npy header truncated`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const major = buf[6]!;
  if (major < 1 || major > 3) throw new DataFormatError(`${name}: .npy format version ${major} is not supported`);
  const headerLen = major === 1 ? view.getUint16(8, true) : buf.length >= 12 ? view.getUint32(8, true) : Number.NaN;
  const start = major === 1 ? 10 : 12;
  if (!Number.isFinite(headerLen) || start + headerLen > buf.length) throw new DataFormatError(`${name}: .npy header truncated`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new DataFormatError(`${name}: .npy header is not a {descr, fortran_order, shape} dict: ${header.trim()}`);
  if (fortran === 'True') throw new DataFormatError(`${name}: Fortran-order arrays are not supported (save with np.ascontiguousarray)`);
  const dtype = descr === '|u1' || descr === '<u1' ? 'u1' : descr === '<f4' ? 'f4' : descr === '<f8' ? 'f8' : undefined;
  if (dtype === undefined) throw new DataFormatError(`${name}: dtype ${descr} is not supported (uint8, little-endian float32 or float64)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new DataFormatError(`${name}: bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const width = dtype === 'u1' ? 1 : dtype === 'f4' ? 4 : 8;
  const offset = start + headerLen;
  if (buf.length - offset !== count * width) {
    throw new DataFormatError(`${name}: shape (${shape.join(', ')}) of ${descr} needs ${count * width} data bytes, the file has ${buf.length - offset}`);
  }
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const at = offset + i * width;
    data[i] = dtype === 'u1' ? buf[at]! : dtype === 'f4' ? view.getFloat32(at, true) : view.getFloat64(at, true);
  }
  return { shape, dtype, data };
}
