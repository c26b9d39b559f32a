import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { decode, encode } from '../../src/shared/codec.js';
import { ProtocolError } from '../../src/shared/errors.js';
import { type Go, MAX_GO_STEPS, PROTOCOL_VERSION, VersionMismatchError, parseChunk, parseCoordinatorMessage, parseWorkerMessage } from '../../src/shared/protocol.js';

test('typed arrays travel as raw frames and come back as the same type and values', () => {
  const data = Float32Array.from([1.5, -2, 3e-8, Number.MAX_VALUE]);
  const images = Uint8Array.from([0, 128, 255]);
  const frames = encode({ t: 'batch', v: 1, step: 3, data, images, note: 'x' });
  assert.equal(frames.length, 3);
  assert.equal(frames[1]!.byteLength, 16, 'the float frame is exactly the array bytes');
  const back = decode(frames) as Record<string, unknown>;
  assert.ok(back.data instanceof Float32Array);
  assert.deepEqual(back.data, data);
  assert.ok(back.images instanceof Uint8Array);
  assert.deepEqual([...(back.images as Uint8Array)], [0, 128, 255]);
  assert.equal(back.note, 'x');
  // 16-bit gradients (--compression) keep their type: a receiver tells them from float32 by it.
  const half = decode(encode({ data: Uint16Array.from([0x3c00, 0xfbff]) })) as Record<string, unknown>;
  assert.ok(half.data instanceof Uint16Array);
  assert.deepEqual([...(half.data as Uint16Array)], [0x3c00, 0xfbff]);
});

test('misaligned frames are copied into aligned arrays', () => {
  const frames = encode({ data: Float32Array.from([1, 2, 3]) });
  const shifted = Buffer.concat([Buffer.from([9]), frames[1]!]).subarray(1);
  const back = decode([frames[0]!, shifted]) as { data: Float32Array };
  assert.deepEqual([...back.data], [1, 2, 3]);
});

test('malformed frames are protocol errors, never crashes', () => {
  const p = new Packr({ useRecords: false });
  const cases: Buffer[][] = [
    [],
    [Buffer.from([0xc1])],
    [p.pack([1, 2])],
    [p.pack({ $bin: [['data', 'f32']] })],
    [p.pack({ $bin: [['data', 'f64']] }), Buffer.alloc(8)],
    [p.pack({ $bin: [['__proto__', 'f32']] }), Buffer.alloc(8)],
    [p.pack({ $bin: [['data', 'f32']] }), Buffer.alloc(7)],
  ];
  for (const frames of cases) assert.throws(() => decode(frames), ProtocolError, `frames ${JSON.stringify(frames.map((f) => f.toString('hex')))}`);
});

test('messages are validated by type, and another protocol version is named', () => {
  const ok = parseWorkerMessage(decode(encode({ t: 'grad', v: PROTOCOL_VERSION, gen: 1, step: 1, phase: 'd', data: new Float32Array(3) })));
  assert.equal(ok.t, 'grad');
  assert.throws(() => parseWorkerMessage({ t: 'hello', v: 99 }), (e: unknown) => e instanceof VersionMismatchError && /version 99/.test(e.message));
  assert.throws(() => parseWorkerMessage({ t: 'grad', v: PROTOCOL_VERSION, gen: 1, step: 0, phase: 'd', data: new Float32Array(1) }), /at step/);
  assert.throws(() => parseWorkerMessage({ t: 'grad', v: PROTOCOL_VERSION, gen: 1, step: 1, phase: 'x', data: new Float32Array(1) }), /at phase/);
  assert.throws(() => parseWorkerMessage({ t: 'grad', v: PROTOCOL_VERSION, gen: 1, step: 1, phase: 'd', data: [1, 2] }), /float32 or uint16 array/);
  assert.throws(() => parseWorkerMessage({ t: 'nope', v: PROTOCOL_VERSION }), ProtocolError);
  const done = { t: 'stepDone', v: PROTOCOL_VERSION, step: 1, dLoss: 1, gLoss: 1, dReal: 1, dFake: 1, computeMs: 1, reduceMs: 1, applyMs: 1, dataWaitMs: 0, peerWaitMs: 0 };
  assert.throws(() => parseWorkerMessage({ ...done, dLoss: 'x' }), /at dLoss/);
  // A step whose gradients blew up reports its NaN loss rather than vanishing; timings must still be finite.
  assert.ok(Number.isNaN((parseWorkerMessage({ ...done, dLoss: NaN }) as { dLoss: number }).dLoss));
  assert.equal((parseWorkerMessage({ ...done, gLoss: Infinity, dReal: -Infinity }) as { gLoss: number }).gLoss, Infinity);
  assert.throws(() => parseWorkerMessage({ ...done, computeMs: Infinity }), /at computeMs/);
  assert.throws(() => parseWorkerMessage('text'), /not a message object/);
  assert.throws(() => parseChunk({ t: 'chunk', v: PROTOCOL_VERSION, gen: 1, step: 1, phase: 'g', seq: 0, data: new Float32Array(1), extra: 1 }), ProtocolError);
  // Generations start at 1; an abort answer names the generation and the step rolled back to.
  assert.equal(parseCoordinatorMessage({ t: 'abort', v: PROTOCOL_VERSION, gen: 2 }).t, 'abort');
  assert.throws(() => parseCoordinatorMessage({ t: 'abort', v: PROTOCOL_VERSION, gen: 0 }), /at gen/);
  // --data local's go-ahead carries no examples: one with images is not a go-ahead.
  assert.equal(parseCoordinatorMessage({ t: 'go', v: PROTOCOL_VERSION, gen: 1, step: 4, through: 4 }).t, 'go');
  assert.throws(() => parseCoordinatorMessage({ t: 'go', v: PROTOCOL_VERSION, gen: 1, step: 4, through: 4, images: new Uint8Array(4) }), /images/);
  // A go-ahead grants steps step..through: never backwards, and never more than a worker should park.
  assert.equal((parseCoordinatorMessage({ t: 'go', v: PROTOCOL_VERSION, gen: 1, step: 4, through: 4 + MAX_GO_STEPS - 1 }) as Go).through, 4 + MAX_GO_STEPS - 1);
  assert.throws(() => parseCoordinatorMessage({ t: 'go', v: PROTOCOL_VERSION, gen: 1, step: 4, through: 3 }), /at through/);
  assert.throws(() => parseCoordinatorMessage({ t: 'go', v: PROTOCOL_VERSION, gen: 1, step: 4, through: 4 + MAX_GO_STEPS }), /at through/);
  assert.throws(() => parseWorkerMessage({ t: 'aborted', v: PROTOCOL_VERSION, gen: 1, completed: -1 }), /at completed/);
  // A reject is readable whatever version sent it, so an outdated worker still learns why.
  assert.equal(parseCoordinatorMessage({ t: 'reject', v: 0, reason: 'old' }).t, 'reject');
});
