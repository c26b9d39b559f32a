import assert from 'node:assert/strict';
import { test } from 'node:test';
import { f16ToNumber, f32BitsToBf16, f32BitsToF16, fromWire, toWire, wireCodec } from '../../src/shared/allreduce/compression.js';
import { ringAllReduce } from '../../src/shared/allreduce/ring.js';
import { StarReducer } from '../../src/shared/allreduce/star.js';
import { memoryRing } from '../../src/shared/allreduce/memoryLink.js';
import { COMPRESSIONS } from '../../src/shared/config.js';
import { ProtocolError } from '../../src/shared/errors.js';
import { Rng } from '../../src/shared/rng.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';

const f32 = new Float32Array(1);
const bits32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number): number => {
  f32[0] = x;
  return bits32[0]!;
};
const fromBits = (b: number): number => {
  bits32[0] = b;
  return f32[0]!;
};
const bf16ToNumber = (h: number): number => fromBits(h << 16);

/** Round to nearest, ties to even, checked against the two neighbours of the chosen value (no oracle needed). */
function assertNearest(x: number, h: number, decode: (h: number) => number, what: string): void {
  const v = decode(h);
  for (const n of [h - 1, h + 1]) {
    const w = decode(n & 0xffff);
    if (!Number.isFinite(w) || Math.sign(w) !== Math.sign(v) || (n & 0x7fff) === 0x7fff + 1) continue;
    const dv = Math.abs(x - v);
    const dw = Math.abs(x - w);
    assert.ok(dv < dw || (dv === dw && (h & 1) === 0), `${what}: ${x} encoded as ${v} (0x${h.toString(16)}), but ${w} is nearer or the even one of a tie`);
  }
}

test('fp16: every half value survives a round trip, and random floats go to the nearest half (ties to even)', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = f16ToNumber(h);
    if (Number.isNaN(v)) assert.ok(Number.isNaN(f16ToNumber(f32BitsToF16(bitsOf(v)))));
    else assert.equal(f32BitsToF16(bitsOf(v)), h, `half 0x${h.toString(16)} (${v})`);
  }
  const rng = new Rng(3);
  for (let i = 0; i < 100_000; i++) {
    // Magnitudes from subnormal halves (2^-24) to the top of the range.
    const x = Math.fround((rng.next() < 0.5 ? -1 : 1) * 2 ** (rng.next() * 40 - 25) * (1 + rng.next()));
    if (Math.abs(x) >= 65504) continue;
    assertNearest(x, f32BitsToF16(bitsOf(x)), f16ToNumber, 'fp16');
  }
  // Exact ties: halfway between 1 and the next half (1 + 2^-10) goes to the even 1; the next tie up goes up.
  assert.equal(f16ToNumber(f32BitsToF16(bitsOf(1 + 2 ** -11))), 1);
  assert.equal(f16ToNumber(f32BitsToF16(bitsOf(1 + 3 * 2 ** -11))), 1 + 2 ** -9);
  assert.equal(f16ToNumber(f32BitsToF16(bitsOf(2 ** -25))), 0, 'half the smallest subnormal is a tie that goes to 0');
  assert.equal(f16ToNumber(f32BitsToF16(bitsOf(Math.fround(2 ** -25 * 1.5)))), 2 ** -24);
});

test('fp16 clamps finite values beyond ±65504 to it; infinities and NaN stay what they are', () => {
  for (const [x, expected] of [[65504, 65504], [65519, 65504], [65520, 65504], [70000, 65504], [1e30, 65504], [-3e38, -65504], [Infinity, Infinity], [-Infinity, -Infinity]] as const) {
    assert.equal(f16ToNumber(f32BitsToF16(bitsOf(x))), expected, `fp16 of ${x}`);
  }
  assert.ok(Number.isNaN(f16ToNumber(f32BitsToF16(bitsOf(NaN)))));
  // Through the codec and an all-reduce: an overflowing gradient arrives clamped, a non-finite one stays non-finite.
  const codec = wireCodec('fp16')!;
  const wire = new Uint16Array(3);
  codec.encode(Float32Array.of(1e6, -1e6, Infinity), wire);
  assert.deepEqual([...fromWire(wire, codec, 'test')], [65504, -65504, Infinity]);
});

test('bf16: every bf16 value survives a round trip, random floats go to the nearest (ties to even), the largest floats clamp', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = bf16ToNumber(h);
    if (Number.isNaN(v)) assert.ok(Number.isNaN(bf16ToNumber(f32BitsToBf16(bitsOf(v)))));
    else assert.equal(f32BitsToBf16(bitsOf(v)), h, `bf16 0x${h.toString(16)} (${v})`);
  }
  const rng = new Rng(4);
  for (let i = 0; i < 100_000; i++) {
    const x = Math.fround((rng.next() < 0.5 ? -1 : 1) * 2 ** (rng.next() * 200 - 100) * (1 + rng.next()));
    assertNearest(x, f32BitsToBf16(bitsOf(x)), bf16ToNumber, 'bf16');
  }
  assert.equal(bf16ToNumber(f32BitsToBf16(bitsOf(1 + 2 ** -8))), 1, 'a tie goes to the even 1');
  assert.equal(bf16ToNumber(f32BitsToBf16(bitsOf(3.4028235e38))), bf16ToNumber(0x7f7f), 'the largest float clamps to the largest finite bf16');
  assert.equal(bf16ToNumber(f32BitsToBf16(bitsOf(-Infinity))), -Infinity);
  assert.ok(Number.isNaN(bf16ToNumber(f32BitsToBf16(bitsOf(NaN)))));
});

// A bound on what 16-bit hops cost: each of the N-1 partial sums and the final average rounded once, relative to the inputs' magnitude.
const UNIT_ROUNDOFF = { fp16: 2 ** -11, bf16: 2 ** -8 } as const;

for (const name of ['fp16', 'bf16'] as const) {
  test(`ring all-reduce with ${name} on the wire: every rank ends with the same rounded average, N = 1..5, any segment size`, async () => {
    const codec = wireCodec(name)!;
    for (let world = 1; world <= 5; world++) {
      for (const len of [0, 1, 7, 1001]) {
        for (const segment of [1, 3, undefined]) {
          const inputs = randomBuffers(world, len, world * 100 + len);
          const bufs = inputs.map((b) => Float32Array.from(b));
          const links = memoryRing(world);
          await Promise.all(bufs.map((b, r) => ringAllReduce(b, r, world, links[r]!, 1, 'd', segment, undefined, codec)));
          const what = `${name} world ${world} length ${len} segment ${segment ?? 'default'}`;
          assertAverages(inputs, bufs, what, (world + 1) * UNIT_ROUNDOFF[name]);
          for (const b of bufs) assert.deepEqual(b, bufs[0], `every rank ends with identical bits (${what})`);
          if (world > 1) {
            // Every value is one the 16-bit format holds: the owner applied the rounded average, not its float32 sum.
            const wire = new Uint16Array(len);
            codec.encode(bufs[0]!, wire);
            assert.deepEqual(fromWire(wire, codec, what), bufs[0], `${what}: the result is 16-bit values`);
          }
        }
      }
    }
  });

  test(`star reducer with ${name}: sums the decoded contributions in float32 and rounds the average once`, () => {
    const codec = wireCodec(name)!;
    const inputs = randomBuffers(3, 257, 9);
    const star = new StarReducer(3, codec);
    let out;
    for (let r = 0; r < 3; r++) out = star.add(2, 'g', r, toWire(inputs[r]!, codec));
    assert.ok(out instanceof Uint16Array);
    const avg = fromWire(out, codec, 'star');
    assertAverages(inputs, [avg], `star ${name}`, 2 * UNIT_ROUNDOFF[name]);
  });
}

test('a 16-bit segment where float32 is expected (and the reverse) is a protocol error, not a misread value', async () => {
  const codec = wireCodec('bf16')!;
  assert.throws(() => fromWire(new Float32Array(2), codec, 'averaged gradients'), (e: unknown) => e instanceof ProtocolError && /float32 values, but this run sends bf16/.test(e.message));
  assert.throws(() => fromWire(new Uint16Array(2), undefined, 'averaged gradients'), (e: unknown) => e instanceof ProtocolError && /16-bit values/.test(e.message));
  assert.throws(() => new StarReducer(2, codec).add(1, 'd', 0, new Float32Array(2)), ProtocolError);
  // Rank 0 compresses, rank 1 does not: each refuses what the other sends.
  const links = memoryRing(2);
  const results = await Promise.allSettled([
    ringAllReduce(new Float32Array(8), 0, 2, links[0]!, 1, 'd', undefined, undefined, codec),
    ringAllReduce(new Float32Array(8), 1, 2, links[1]!, 1, 'd'),
  ]);
  assert.deepEqual(results.map((r) => r.status === 'rejected' && r.reason instanceof ProtocolError), [true, true]);
  assert.deepEqual(COMPRESSIONS.map((c) => wireCodec(c)?.name), [undefined, 'fp16', 'bf16']);
});
