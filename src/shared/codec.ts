import { Packr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import { MAX_FRAME_BYTES } from './protocol.js';

/**
 * The only msgpackr user. A message becomes a multipart frame: a msgpack header,
 * then one raw frame per top-level typed array, so tensors cross the wire as their
 * bytes with no per-element encoding and can be viewed in place on arrival.
 */
const packr = new Packr({ useRecords: false, moreTypes: false });

const TYPED = {
  f32: Float32Array,
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
} as const;
type TypedTag = keyof typeof TYPED;
type Typed = InstanceType<(typeof TYPED)[TypedTag]>;

function tagOf(value: unknown): TypedTag | undefined {
  if (value instanceof Float32Array) return 'f32';
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return 'u8';
  if (value instanceof Uint16Array) return 'u16';
  if (value instanceof Uint32Array) return 'u32';
  return undefined;
}

const BIN_KEY = '$bin';

export function encode(message: object): Buffer[] {
  const header: Record<string, unknown> = {};
  const bin: Array<[string, TypedTag]> = [];
  const frames: Buffer[] = [];
  for (const [key, value] of Object.entries(message)) {
    const tag = tagOf(value);
    if (tag) {
      const arr = value as Typed;
      bin.push([key, tag]);
      frames.push(Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength));
    } else {
      header[key] = value;
    }
  }
  if (bin.length > 0) header[BIN_KEY] = bin;
  return [packr.pack(header), ...frames];
}

/** Views a frame as a typed array, copying only when the bytes are misaligned for it. */
function viewAs(tag: TypedTag, frame: Buffer): Typed {
  const Ctor = TYPED[tag];
  const size = Ctor.BYTES_PER_ELEMENT;
  if (frame.byteLength % size !== 0) throw new ProtocolError(`binary frame of ${frame.byteLength} bytes is not a whole number of ${tag} elements`);
  if (frame.byteOffset % size === 0) return new Ctor(frame.buffer as ArrayBuffer, frame.byteOffset, frame.byteLength / size);
  const copy = new Uint8Array(frame.byteLength);
  copy.set(frame);
  return new Ctor(copy.buffer, 0, frame.byteLength / size);
}

/** Decodes frames into a plain object; the protocol module validates what it is. */
export function decode(frames: Buffer[]): unknown {
  const [head, ...rest] = frames;
  if (!head) throw new ProtocolError('empty message');
  let total = 0;
  for (const f of frames) total += f.byteLength;
  if (total > MAX_FRAME_BYTES) throw new ProtocolError(`message of ${total} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
  let header: unknown;
  try {
    header = packr.unpack(head);
  } catch (err) {
    throw new ProtocolError(`header is not valid msgpack (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Object.getPrototypeOf(header) !== Object.prototype) throw new ProtocolError('header is not a map');
  const obj = header as Record<string, unknown>;
  const bin = obj[BIN_KEY];
  delete obj[BIN_KEY];
  const specs = bin === undefined ? [] : bin;
  if (!Array.isArray(specs) || specs.length !== rest.length) {
    throw new ProtocolError(`header announces ${Array.isArray(specs) ? specs.length : 'invalid'} binary frames, ${rest.length} arrived`);
  }
  specs.forEach((spec: unknown, i) => {
    if (!Array.isArray(spec) || typeof spec[0] !== 'string' || !/^[a-zA-Z][a-zA-Z0-9]*$/.test(spec[0]) || !(typeof spec[1] === 'string' && Object.hasOwn(TYPED, spec[1]))) {
      throw new ProtocolError('malformed binary frame descriptor');
    }
    obj[spec[0]] = viewAs(spec[1] as TypedTag, rest[i]!);
  });
  return obj;
}
