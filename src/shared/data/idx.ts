import { gunzipSync } from 'node:zlib';
import { DataFormatError } from '../errors.js';

/** An IDX array of unsigned bytes (the only element type MNIST uses). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;
const GZIP_MAGIC = 0x1f8b;

/**
 * Parses an IDX file (raw or gzip-compressed). `expectRank` guards against
 * swapping the image and label files; `name` makes the error say which file.
 */
export function parseIdx(input: Uint8Array, name: string, expectRank?: number): IdxArray {
  let buf = input;
  if (buf.length >= 2 && ((buf[0]! << 8) | buf[1]!) === GZIP_MAGIC) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new DataFormatError(`${name}: gzip stream is corrupt (${(err as Error).message})`);
    }
  }
  if (buf.length < 4) throw new DataFormatError(`${name}: file is ${buf.length} bytes, too short for an IDX header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint16(0) !== 0) {
    throw new DataFormatError(`${name}: bad magic number 0x${view.getUint32(0).toString(16).padStart(8, '0')} (not an IDX file)`);
  }
  const type = buf[2]!;
  const rank = buf[3]!;
  if (type !== UBYTE) throw new DataFormatError(`${name}: element type 0x${type.toString(16)} is not supported (expected 0x08, unsigned byte)`);
  if (rank === 0) throw new DataFormatError(`${name}: IDX file has zero dimensions`);
  if (expectRank !== undefined && rank !== expectRank) {
    throw new DataFormatError(`${name}: has ${rank} dimensions, expected ${expectRank}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (buf.length < headerBytes) throw new DataFormatError(`${name}: header truncated (${buf.length} of ${headerBytes} bytes)`);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i);
    dims.push(d);
    count *= d;
  }
  const expected = headerBytes + count;
  if (buf.length !== expected) {
    const what = buf.length < expected ? 'truncated' : 'has trailing bytes';
    throw new DataFormatError(`${name}: file ${what}: ${buf.length} bytes, dimensions [${dims.join(', ')}] need ${expected}`);
  }
  return { dims, data: buf.subarray(headerBytes) };
}
