import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { FlatAdam } from '../../src/shared/gan/flatAdam.js';
import { tf } from '../../src/shared/gan/tf.js';
import { memoryLogger, silentLogger } from '../../src/shared/logger.js';
import { type Checkpoint, CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../../src/coordinator/checkpointFormat.js';
import { CheckpointStore, loadLatestCheckpoint } from '../../src/coordinator/checkpointStore.js';
import { checkResumable } from '../../src/coordinator/trainConfig.js';
import { ConfigError } from '../../src/shared/errors.js';
import { checkpointFor, configFromFlags } from '../fixtures/coordinatorArgs.js';
import { randomBuffers } from '../fixtures/buffers.js';
import { trainConfig } from '../fixtures/trainConfig.js';
import { tempDir } from '../helpers.js';

const config = trainConfig({ world: 2, steps: 10, stepsPerEpoch: 4, checkEvery: 5, timeoutMs: 1000, checkpointEvery: 2 });

function checkpoint(step: number): Checkpoint {
  // Odd lengths, and a view into a larger buffer, to catch alignment and offset slips.
  const [a, b, c, d] = randomBuffers(4, 37, step);
  const big = new Float32Array(50);
  big.set(b!, 5);
  return { step, config, weights: { generator: a!, discriminator: big.subarray(5, 42) }, optimizer: { generator: c!, discriminator: d! } };
}

test('a checkpoint round-trips exactly; corrupt, truncated or foreign bytes are refused with the reason', () => {
  const c = checkpoint(6);
  const bytes = encodeCheckpoint(c);
  assert.deepEqual(decodeCheckpoint(bytes), c);
  const flipped = Buffer.from(bytes);
  flipped[100]! ^= 0x01;
  assert.throws(() => decodeCheckpoint(flipped), (e: unknown) => e instanceof CheckpointError && /checksum mismatch/.test(e.message));
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 10)), /checksum mismatch/);
  assert.throws(() => decodeCheckpoint(Buffer.from('not a checkpoint at all, really not one')), /not a trainer checkpoint/);
  assert.throws(() => decodeCheckpoint(Buffer.alloc(0)), /not a trainer checkpoint/);
});

test('the store keeps the newest N; loading skips a corrupt newest file with a warning', () => {
  const dir = tempDir('ckpt');
  const store = new CheckpointStore(dir, 2);
  for (const step of [2, 4, 6]) store.write(checkpoint(step));
  assert.deepEqual(readdirSync(dir).sort(), ['ckpt-000000004.bin', 'ckpt-000000006.bin'], 'the oldest is pruned, no temporary files remain');
  const { logger, records } = memoryLogger();
  const warnings = (): string[] => records.filter((r) => r.level === 'warn').map((r) => r.msg);
  assert.equal(loadLatestCheckpoint(dir, logger).checkpoint.step, 6);
  // A crash mid-write cannot leave this (writes are atomic), but a disk can: cut the newest in half.
  const newest = path.join(dir, 'ckpt-000000006.bin');
  writeFileSync(newest, encodeCheckpoint(checkpoint(6)).subarray(0, 200));
  const loaded = loadLatestCheckpoint(dir, logger);
  assert.equal(loaded.checkpoint.step, 4);
  assert.deepEqual(loaded.checkpoint, checkpoint(4));
  assert.equal(warnings().length, 1);
  assert.match(warnings()[0]!, /skipping checkpoint .*ckpt-000000006\.bin: checksum mismatch/);
  assert.throws(() => loadLatestCheckpoint(tempDir('empty'), logger), /no checkpoint files/);
});

test('Adam restored from its exported state continues with the same bits as one never stopped', async () => {
  await selectBackend('wasm', silentLogger);
  const [start, ...grads] = randomBuffers(5, 301, 9);
  const run = (opt: FlatAdam, value: ReturnType<typeof tf.tensor1d>, from: number, to: number): ReturnType<typeof tf.tensor1d> => {
    let v = value;
    for (let i = from; i < to; i++) {
      const next = tf.tidy(() => opt.update(v, tf.tensor1d(grads[i]!), 1e-3)) as ReturnType<typeof tf.tensor1d>;
      v.dispose();
      v = next;
    }
    return v;
  };
  const whole = new FlatAdam(tf, 301, 0.5, 0.999, 1e-8);
  const reference = run(whole, tf.tensor1d(start!), 0, 4);
  const first = new FlatAdam(tf, 301, 0.5, 0.999, 1e-8);
  const middle = run(first, tf.tensor1d(start!), 0, 2);
  const state = await first.exportState();
  assert.equal(state.length, FlatAdam.stateSize(301));
  const second = new FlatAdam(tf, 301, 0.5, 0.999, 1e-8);
  second.importState(state);
  const resumed = run(second, middle, 2, 4);
  assert.deepEqual(resumed.dataSync(), reference.dataSync());
  assert.deepEqual(await second.exportState(), await whole.exportState(), 'step counter, beta powers and moments too');
  assert.throws(() => second.importState(new Float32Array(5)), /expected 605/);
  for (const x of [whole, first, second]) x.dispose();
  tf.dispose([reference, resumed]);
});

test('resuming a checkpoint of another model (an older version of the architecture) is a one-line ConfigError naming both sizes', () => {
  const dcgan = configFromFlags({ arch: 'dcgan' });
  const same = checkpointFor(dcgan);
  assert.doesNotThrow(() => checkResumable(same, dcgan));
  // The DCGAN's generator before its 7×7 convolution: 760,065 floats where it has 908,033 now.
  const older = { ...same, weights: { ...same.weights, generator: new Float32Array(760065) } };
  assert.throws(() => checkResumable(older, dcgan), (err: Error) => err instanceof ConfigError && !err.message.includes('\n')
    && err.message === "--resume: the checkpoint is of another model: its generator holds 760065 values, --arch dcgan's has 908033 (written by a version with another architecture)");
});
